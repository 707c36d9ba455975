import Logging
import MongoBSON
import SDAMCore
import MongoWire
import MongoAuth
@_spi(LoopPrimitives) import PoolMonitor
import Synchronization

/// A pool of clients over one monitored deployment — libmongoc's pooled mode: one monitor
/// (one thread) keeps the topology current for every client, and each client owns its own
/// connections to the servers it uses.
///
/// A thread takes a client with `pop()` (or `tryPop()`), runs operations on it, and gives it
/// back with `push(_:)`. A client is used by one thread at a time.
///
/// Creating a pool does no network I/O and succeeds when every server is down: servers are
/// discovered in the background, and operations wait (up to serverSelectionTimeoutMS) for a
/// suitable one.
public final class ClientPool: Sendable {
    /// The deployment as the monitor knows it.
    public var topology: Topology { shared.topology }
    /// The options the pool was created with (a `mongodb+srv://` pool's completed with its
    /// seeds and TXT options once DNS gave them).
    public var settings: ClientSettings { shared.settings }
    /// What DNS gave a `mongodb+srv://` pool: the seeds, every valid host, and the connection
    /// string as if written with them and the TXT options. Nil until then, and for other pools.
    public var resolvedSeedlist: ResolvedSeedlist? { shared.configuration.seedlist }

    let shared: PoolShared
    /// Released by `close()`: the monitor's event loop keeps its epoll and eventfd descriptors
    /// until it is freed, and a closed pool must hold no descriptor.
    private let monitor: ConditionLock<(any TopologyMonitoring)?>
    private let state = ConditionLock(PoolState())

    struct PoolState {
        /// Clients pushed back and not popped since.
        var idle: [MongoClient] = []
        /// Every client created so far (maxPoolSize bounds their number).
        var all: [MongoClient] = []
        var closed = false
    }

    /// Creates a pool from a connection string and starts monitoring the deployment.
    ///
    /// Options in effect: `maxPoolSize` (clients, and connections per server; default 100),
    /// `minPoolSize`, `maxIdleTimeMS`, `maxConnecting`, `waitQueueTimeoutMS`,
    /// `serverSelectionTimeoutMS` (30 s), `localThresholdMS`, `connectTimeoutMS` (10 s),
    /// `socketTimeoutMS`, `heartbeatFrequencyMS`, `serverMonitoringMode`, `replicaSet`,
    /// `directConnection`, `loadBalanced`, the read preference options, `appname`,
    /// `maxAdaptiveRetries` and `enableOverloadRetargeting`. Options this driver cannot honour
    /// yet (TLS, credentials, `timeoutMS`, a proxy) are refused; options without effect on
    /// `runCommand` are logged once each as warnings (`OptionSupport`).
    ///
    /// - Parameters:
    ///   - uri: a `mongodb://` or `mongodb+srv://` connection string. For `mongodb+srv://` the
    ///     SRV and TXT records are read in the background (never here): operations wait for
    ///     them, and fail with `.invalidSeedlist` at once when they break the spec's rules.
    ///   - logger: where the pool logs; connection-string warnings go here at `warning`.
    ///   - events: receives the SDAM, heartbeat and SRV lookup events of the pool's monitor, in
    ///     order, on a thread of its own.
    /// - Throws: `ClientPoolError.invalidConnectionString` naming the offending part (a
    ///   credential that breaks the auth spec's rules included);
    ///   `.unsupportedConfiguration` for UNIX domain sockets, options refused as above, or
    ///   option combinations the SDAM spec forbids; `.monitorStartFailed`. Never because a
    ///   server is down or DNS does not answer.
    public convenience init(
        uri: String,
        logger: Logger = Logger(label: "mongo.clientpool"),
        events: EventPublisher = EventPublisher()
    ) throws(ClientPoolError) {
        try self.init(uri: uri, logger: logger, events: events, adjust: { _ in })
    }

    /// `init(uri:logger:events:)` with a last word on the settings (tests name the monitor
    /// thread, shorten SRV polling's interval) and, for tests, resolvers of their own.
    package convenience init(
        uri: String,
        logger: Logger,
        events: EventPublisher,
        keyCache: ScramKeyCache = ScramKeyCache(),
        resolvers: Resolvers = Resolvers(),
        adjust: (inout ClientSettings) -> Void
    ) throws(ClientPoolError) {
        var settings = try Self.settings(uri: uri, for: .pooled, logger: logger)
        adjust(&settings)
        let security = try ConnectionSecurity(settings: settings, keyCache: keyCache)
        let configuration = PoolConfiguration(settings: settings, security: security)
        let (monitor, pools) = try Self.startMonitor(configuration: configuration, events: events, logger: logger, resolvers: resolvers)
        self.init(configuration: configuration, monitor: monitor, pools: pools, logger: logger)
    }

    /// The settings of a client of `kind` from its connection string: refused as
    /// `OptionSupport` says, with each option that is ignored or has no effect logged once as a
    /// warning (shared by the pooled and the single-threaded client).
    static func settings(uri: String, for kind: ClientKind, logger: Logger) throws(ClientPoolError) -> ClientSettings {
        let connectionString: ConnectionString
        do {
            connectionString = try ConnectionString(uri)
        } catch {
            throw .invalidConnectionString(error)
        }
        let settings: ClientSettings
        do {
            settings = try ClientSettings(connectionString: connectionString, for: kind)
        } catch {
            switch error {
            case .invalidCredential(let error): throw .invalidConnectionString(error)
            case .unsupportedConfiguration(let error): throw .unsupportedConfiguration(error.description)
            }
        }
        if let refusal = OptionSupport.refusal(for: connectionString) {
            throw .unsupportedConfiguration(refusal)
        }
        for warning in connectionString.warnings {
            logger.warning("connection string option ignored", metadata: ["mongo.warning": "\(warning)"])
        }
        for warning in OptionSupport.warnings(for: connectionString, client: kind) {
            logger.warning("connection string option has no effect", metadata: ["mongo.warning": "\(warning)"])
        }
        return settings
    }

    /// A pool over a monitor already running (tests hand in a topology they feed themselves).
    convenience init(settings: ClientSettings, monitor: any TopologyMonitoring, pools: ServerPools? = nil, logger: Logger = Logger(label: "mongo.clientpool")) {
        self.init(configuration: PoolConfiguration(settings: settings, security: .plaintext), monitor: monitor, pools: pools, logger: logger)
    }

    private init(configuration: PoolConfiguration, monitor: any TopologyMonitoring, pools: ServerPools?, logger: Logger) {
        self.monitor = ConditionLock(monitor)
        let pools = pools ?? ServerPools(topology: monitor.topology, configuration: configuration, events: monitor.topology.events)
        monitor.topology.setPoolSink { commands in pools.handle(commands) }
        shared = PoolShared(topology: monitor.topology, configuration: configuration, pools: pools, logger: logger)
    }

    deinit {
        close()
    }

    /// Where a pool's monitor looks names up: the process's bounded resolvers, or a test's.
    package struct Resolvers: Sendable {
        package var addresses: BoundedResolver
        package var records: RecordResolver

        package init(addresses: BoundedResolver = .shared, records: RecordResolver = .shared) {
            self.addresses = addresses
            self.records = records
        }
    }

    // MARK: - Clients

    /// Takes a free client, creating one while fewer than maxPoolSize exist, else waits until
    /// one is pushed back.
    ///
    /// The wait is measured against one deadline on the monotonic clock, set when `pop()` is
    /// called: wake-ups that find no free client do not extend it.
    /// - Throws: `ClientPoolError.waitQueueTimeout` after waitQueueTimeoutMS;
    ///   `.poolClosed` when the pool is (or gets) closed.
    @available(*, noasync, message: "blocks the calling thread; call it from a thread of your own, not from a Task")
    public func pop() throws(ClientPoolError) -> MongoClient {
        let timeout = settings.waitQueueTimeout.map { Int($0.inMilliseconds) } ?? 0
        let deadline = BlockingChannel.deadline(after: settings.waitQueueTimeout)
        let result: Result<MongoClient, ClientPoolError>? = state.wait(until: deadline) { s in
            if s.closed { return .failure(.poolClosed) }
            return takeClient(&s).map { .success($0) }
        }
        switch result {
        case .success(let client): return client
        case .failure(let error): throw error
        case nil: throw .waitQueueTimeout(waitQueueTimeoutMS: timeout, maxPoolSize: settings.maxPoolSize)
        }
    }

    /// Pops a client, runs `body` with it and pushes it back, also when `body` throws.
    ///
    /// - Throws: what `pop()` throws (`ClientPoolError`), or what `body` throws.
    @available(*, noasync, message: "blocks the calling thread; call it from a thread of your own, not from a Task")
    public func withClient<T>(_ body: (MongoClient) throws -> T) throws -> T {
        let client = try pop()
        defer { push(client) }
        return try body(client)
    }

    /// Takes a free client without waiting.
    /// - Returns: nil when maxPoolSize clients are in use, or the pool is closed.
    public func tryPop() -> MongoClient? {
        state.withLock { s in s.closed ? nil : takeClient(&s) }
    }

    /// Gives a client back for other threads to pop. Pushing a client of another pool, or one
    /// that is already back, does nothing; after `close()` the client's connections are closed.
    public func push(_ client: MongoClient) {
        guard client.shared === shared else {
            shared.logger.error("push of a client from another pool ignored")
            return
        }
        let accepted = state.withLock { s -> Bool in
            guard !s.closed, !s.idle.contains(where: { $0 === client }) else { return false }
            s.idle.append(client)
            return true
        }
        if accepted { notifyWaiters() }
    }

    /// Wakes every thread waiting in `pop()` to look again.
    func notifyWaiters() {
        state.broadcast()
    }

    /// An idle client, or a new one while fewer than maxPoolSize exist (0 = no limit).
    private func takeClient(_ s: inout PoolState) -> MongoClient? {
        if let client = s.idle.popLast() { return client }
        let limit = settings.maxPoolSize
        guard limit == 0 || s.all.count < limit else { return nil }
        let client = MongoClient(shared: shared)
        s.all.append(client)
        return client
    }

    /// Connections open in the servers' pools, available and in use (for tests and
    /// diagnostics); each server's pool holds at most maxPoolSize.
    var openConnectionCount: Int { shared.pools.connectionCounts.values.reduce(0, +) }

    /// Clients created so far (at most maxPoolSize).
    public var clientCount: Int { state.withLock { $0.all.count } }

    // MARK: - Closing

    public var isClosed: Bool { shared.isClosed }

    /// Closes the pool: fails threads waiting in `pop()` and in server selection with
    /// `ClientPoolError.poolClosed`, stops the monitor (its thread is joined, its sockets
    /// closed), and closes every server's connection pool — a connection in use by an
    /// operation is shut down, so that operation fails at once. Idempotent.
    @available(*, noasync, message: "joins the monitor thread; call it from a thread of your own, not from a Task")
    public func close() {
        let first = state.withLock { s -> Bool in
            guard !s.closed else { return false }
            s.closed = true
            s.idle = []
            s.all = []
            return true
        }
        guard first else { return }
        shared.markClosed()
        notifyWaiters()
        let monitor = self.monitor.withLock { m -> (any TopologyMonitoring)? in
            defer { m = nil }
            return m
        }
        monitor?.close()
        shared.pools.closeAll()
    }
}

/// What a pool shares with its clients. Clients refer to this, not to the pool, so the pool
/// (which holds its clients) is not kept alive by them.
final class PoolShared: Sendable {
    let topology: Topology
    /// The settings and security of every connection (a `mongodb+srv://` pool's are completed
    /// by DNS).
    let configuration: PoolConfiguration
    let selector: ServerSelector
    let operationCounts = OperationCounts()
    /// One connection pool per server, shared by every client.
    let pools: ServerPools
    /// The client-backpressure spec's per-client bucket of retry tokens.
    let retryTokens = ConditionLock(RetryTokenBucket())
    let logger: Logger
    private let closed = Atomic<Bool>(false)
    /// Set and broadcast by `markClosed`: waits that must end when the pool closes wait on it.
    let closedSignal = ConditionLock(false)

    init(topology: Topology, configuration: PoolConfiguration, pools: ServerPools, logger: Logger) {
        self.topology = topology
        self.configuration = configuration
        self.pools = pools
        self.logger = logger
        selector = configuration.settings.selector
    }

    /// The pool's settings (a `mongodb+srv://` pool's completed once DNS gave its seeds).
    var settings: ClientSettings { configuration.settings }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    func markClosed() {
        closed.store(true, ordering: .releasing)
        closedSignal.withLock { $0 = true }
        closedSignal.broadcast()
    }
}

extension ConditionLock where Value == RetryTokenBucket {
    func consume() -> Bool { withLock { $0.consume() } }
    func deposit(_ tokens: Double) {
        guard tokens > 0 else { return }
        withLock { $0.deposit(tokens) }
    }
}
