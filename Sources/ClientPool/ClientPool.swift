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
    let state = ConditionLock(PoolState())

    struct PoolState {
        /// Clients pushed back and not popped since.
        var idle: [MongoClient] = []
        /// Every client created so far (maxPoolSize bounds their number).
        var all: [MongoClient] = []
        var closed = false
        /// Tasks waiting for a free client, in arrival order (the async face); a pushed client
        /// goes to the first of them before any waiting thread.
        var waiters = WaiterQueue<MongoClient>()
        /// Draining (graceful shutdown): no client is handed out; `drained` waiters are resumed
        /// once every client is back.
        var draining = false
        var drained: [AsyncWaiter<Void>] = []
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

    /// `init(uri:logger:events:)` with the async face's operations on another loop: the pool's
    /// own (the default) or the monitor's, for benchmarks that measure what sharing costs the
    /// monitor's timers.
    @_spi(LoopPrimitives) public convenience init(
        uri: String,
        logger: Logger = Logger(label: "mongo.clientpool"),
        events: EventPublisher = EventPublisher(),
        operationsLoop: OperationsLoopPlacement
    ) throws(ClientPoolError) {
        try self.init(uri: uri, logger: logger, events: events, operationsLoop: operationsLoop, adjust: { _ in })
    }

    /// `init(uri:logger:events:)` with a last word on the settings (tests name the monitor
    /// thread, shorten SRV polling's interval) and, for tests, resolvers of their own.
    package convenience init(
        uri: String,
        logger: Logger,
        events: EventPublisher,
        keyCache: ScramKeyCache = ScramKeyCache(),
        resolvers: Resolvers = Resolvers(),
        operationsLoop: OperationsLoopPlacement = .dedicated,
        adjust: (inout ClientSettings) -> Void
    ) throws(ClientPoolError) {
        DiscoveryTrace.mark("pool: init")
        // The monitor's loop thread starts first, so that its start overlaps the parsing
        // (`TopologyMonitor.startedLoop()`); it is shut down if the settings are refused.
        let loop: MonitorLoop
        do {
            loop = try TopologyMonitor.startedLoop()
        } catch {
            // A refused connection string is still reported as such.
            _ = try Self.settings(uri: uri, for: .pooled, logger: logger)
            throw .monitorStartFailed("\(error)")
        }
        let configuration: PoolConfiguration
        do throws(ClientPoolError) {
            var settings = try Self.settings(uri: uri, for: .pooled, logger: logger)
            adjust(&settings)
            DiscoveryTrace.mark("pool: settings parsed")
            let security = try ConnectionSecurity(settings: settings, keyCache: keyCache)
            configuration = PoolConfiguration(settings: settings, security: security)
            DiscoveryTrace.mark("pool: security made")
        } catch {
            loop.shutdown()
            throw error
        }
        // From here the monitor owns the loop, also when it cannot start.
        let (monitor, pools) = try Self.startMonitor(configuration: configuration, events: events, logger: logger, resolvers: resolvers,
                                                     loop: loop)
        DiscoveryTrace.mark("pool: monitor started")
        self.init(configuration: configuration, monitor: monitor, pools: pools, logger: logger, operationsLoop: operationsLoop)
        DiscoveryTrace.mark("pool: init returns")
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
    convenience init(
        settings: ClientSettings, monitor: any TopologyMonitoring, pools: ServerPools? = nil, logger: Logger = Logger(label: "mongo.clientpool"),
        operationsLoop: OperationsLoopPlacement = .dedicated
    ) {
        self.init(configuration: PoolConfiguration(settings: settings, security: .plaintext), monitor: monitor, pools: pools,
                  logger: logger, operationsLoop: operationsLoop)
    }

    private init(
        configuration: PoolConfiguration, monitor: any TopologyMonitoring, pools: ServerPools?, logger: Logger,
        operationsLoop: OperationsLoopPlacement = .dedicated
    ) {
        self.monitor = ConditionLock(monitor)
        let pools = pools ?? ServerPools(topology: monitor.topology, configuration: configuration, events: monitor.topology.events)
        monitor.topology.setPoolSink { commands in pools.handle(commands) }
        shared = PoolShared(topology: monitor.topology, configuration: configuration, pools: pools, logger: logger,
                            operationsLoop: operationsLoop, monitorLoop: monitor.monitorLoop)
    }

    deinit {
        close()
    }

    /// Where a pool's monitor looks names up: the process's bounded resolvers (nil), or a
    /// test's. The shared ones are made on first use, by the monitor: a pool whose seeds are IP
    /// literals never makes them (making them cost about 0.2 ms of `ClientPool(uri:)`, issue 17).
    package struct Resolvers: Sendable {
        package var addresses: BoundedResolver?
        package var records: RecordResolver?

        package init(addresses: BoundedResolver? = nil, records: RecordResolver? = nil) {
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
            if s.closed || s.draining { return .failure(.poolClosed) }
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
        state.withLock { s in s.closed || s.draining ? nil : takeClient(&s) }
    }

    /// Gives a client back for other threads to pop. Pushing a client of another pool, or one
    /// that is already back, does nothing; after `close()` the client's connections are closed.
    public func push(_ client: MongoClient) {
        guard client.shared === shared else {
            shared.logger.error("push of a client from another pool ignored")
            return
        }
        enum Handover { case none, thread, task(AsyncWaiter<MongoClient>), drained([AsyncWaiter<Void>]) }
        let handover = state.withLock { s -> Handover in
            guard !s.closed, !s.idle.contains(where: { $0 === client }) else { return .none }
            if !s.draining, let waiter = s.waiters.popFirst() { return .task(waiter) }
            s.idle.append(client)
            if s.draining, s.idle.count == s.all.count {
                defer { s.drained = [] }
                return .drained(s.drained)
            }
            return .thread
        }
        switch handover {
        case .none: return
        case .thread: notifyWaiters()
        // A task cancelled in the meantime lost its claim: the client comes back.
        case .task(let waiter): if !waiter.resume(.success(client)) { push(client) }
        case .drained(let waiters): for waiter in waiters { waiter.resume(.success(())) }
        }
    }

    /// Wakes every thread waiting in `pop()` to look again.
    func notifyWaiters() {
        state.broadcast()
    }

    /// An idle client, or a new one while fewer than maxPoolSize exist (0 = no limit).
    func takeClient(_ s: inout PoolState) -> MongoClient? {
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

    /// The monitor's event loop (nil for a pool over a hand-fed topology): benchmarks post
    /// probes to it to measure how promptly it runs its timers and inbox under load.
    @_spi(LoopPrimitives) public var monitorEventLoop: MonitorLoop? { shared.monitorLoop }

    // MARK: - Closing

    public var isClosed: Bool { shared.isClosed }

    /// Closes the pool: fails threads waiting in `pop()` and in server selection with
    /// `ClientPoolError.poolClosed`, stops the monitor (its thread is joined, its sockets
    /// closed), and closes every server's connection pool — a connection in use by an
    /// operation is shut down, so that operation fails at once. Idempotent.
    @available(*, noasync, message: "joins the monitor thread; call it from a thread of your own, not from a Task")
    public func close() {
        let waiting = state.withLock { s -> (clients: [AsyncWaiter<MongoClient>], drained: [AsyncWaiter<Void>])? in
            guard !s.closed else { return nil }
            s.closed = true
            s.idle = []
            s.all = []
            defer { s.drained = [] }
            return (s.waiters.removeAll(), s.drained)
        }
        guard let waiting else { return }
        shared.markClosed()
        notifyWaiters()
        for waiter in waiting.clients { waiter.resume(.failure(ClientPoolError.poolClosed)) }
        for waiter in waiting.drained { waiter.resume(.success(())) }
        let monitor = self.monitor.withLock { m -> (any TopologyMonitoring)? in
            defer { m = nil }
            return m
        }
        // The operations loop's waits end first (they fail with poolClosed): with the monitor's
        // loop as the operations loop, they must end before that loop stops.
        shared.closeOperationsLoop()
        monitor?.close()
        shared.pools.closeAll()
        // The topology holds the pools' sink and the pools hold the topology: let go, or a
        // closed pool's objects would keep each other alive.
        shared.topology.setPoolSink(nil)
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

    /// The async face's loop, made at its first use (a pool used only through the blocking
    /// calls starts no second thread); nil again once closed.
    private let operationsLoopState = ConditionLock<(loop: OperationsLoop?, closed: Bool)>((nil, false))
    private let operationsLoopPlacement: OperationsLoopPlacement
    let monitorLoop: MonitorLoop?

    init(
        topology: Topology, configuration: PoolConfiguration, pools: ServerPools, logger: Logger,
        operationsLoop: OperationsLoopPlacement = .dedicated, monitorLoop: MonitorLoop? = nil
    ) {
        self.topology = topology
        self.configuration = configuration
        self.pools = pools
        self.logger = logger
        selector = configuration.settings.selector
        operationsLoopPlacement = operationsLoop
        self.monitorLoop = monitorLoop
    }

    /// The async face's loop, started now if this is its first use.
    /// - Throws: `.poolClosed` once the pool is closed; `.monitorStartFailed` if no thread.
    func operationsLoop() throws(ClientPoolError) -> OperationsLoop {
        try operationsLoopState.withLock { s throws(ClientPoolError) -> OperationsLoop in
            if s.closed { throw .poolClosed }
            if let loop = s.loop { return loop }
            let loop = try OperationsLoop(placement: operationsLoopPlacement, monitorLoop: monitorLoop)
            s.loop = loop
            return loop
        }
    }

    /// Whether the async face has started its loop (for tests).
    var hasOperationsLoop: Bool { operationsLoopState.withLock { $0.loop != nil } }

    func closeOperationsLoop() {
        let loop = operationsLoopState.withLock { s -> OperationsLoop? in
            s.closed = true
            defer { s.loop = nil }
            return s.loop
        }
        loop?.close()
    }

    /// The pool's settings (a `mongodb+srv://` pool's completed once DNS gave its seeds).
    var settings: ClientSettings { configuration.settings }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    private let draining = Atomic<Bool>(false)
    /// Set at a graceful shutdown: selections fail with `.poolClosed` instead of waiting.
    var isDraining: Bool { draining.load(ordering: .acquiring) }
    func markDraining() { draining.store(true, ordering: .releasing) }

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
