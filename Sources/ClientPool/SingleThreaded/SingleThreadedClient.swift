import Logging
import MongoBSON
import SDAMCore
import MongoWire
import MongoAuth
@_spi(LoopPrimitives) import PoolMonitor

/// A client that runs no thread of its own — libmongoc's single-threaded mode, for embedding,
/// command-line tools, short-lived processes and FaaS functions (nothing in the background for
/// a frozen function to stall).
///
/// Discovery and monitoring happen on the caller's thread, inside operations, over the same core
/// as `ClientPool`: the same per-server check cycle and libev loop code, selection rules,
/// errors and events. Before an operation it scans the deployment when heartbeatFrequencyMS
/// (60 s by default here) has passed since the last scan ended or the topology is stale; a scan
/// checks every server at once and waits for them all, so it lasts as long as the slowest check
/// (at most connectTimeoutMS for a server that does not answer). A selection that finds nothing
/// scans again: once with serverSelectionTryOnce (the default), then fails; without it, every
/// 500 ms until serverSelectionTimeoutMS. A connection idle longer than socketCheckIntervalMS
/// (5 s) is checked before use.
///
/// Each server has one connection, used by the scans and the application's commands alike (one
/// handshake per connection; with credentials it authenticates, so later scans run on an
/// authenticated connection).
///
/// Events are delivered on the caller's thread at the end of each operation (and by
/// `deliverEvents()`), never during a scan's I/O. Use a client from one thread at a time; it
/// is not `Sendable`.
public final class SingleThreadedClient {
    /// The deployment as the last scan left it.
    public var topology: Topology { monitor.topology }
    public let settings: ClientSettings
    /// Where SDAM and heartbeat events, and scan reports, are published.
    public let events: EventPublisher
    /// The last scan's report.
    public private(set) var lastScan: ScanReport?

    private let monitor: CallersThreadMonitor
    private let security: ConnectionSecurity
    private let logger: Logger
    private let selector: ServerSelector
    private let retryTokens = ConditionLock(RetryTokenBucket())
    private var scanHandlers: [@Sendable (ScanReport) -> Void] = []
    private var closed = false

    /// Creates a client from a connection string. No I/O and no thread: the first operation
    /// scans.
    ///
    /// Options as `ClientPool(uri:)` takes them, and `serverSelectionTryOnce` and
    /// `socketCheckIntervalMS`; heartbeatFrequencyMS defaults to 60 s and socketTimeoutMS to
    /// 5 minutes (no monitor can end a wait for a server that stopped answering in this mode).
    /// The connection pool options and serverMonitoringMode have no effect (logged as
    /// warnings): there is one connection per server, and servers are polled in scans.
    ///
    /// - Parameters:
    ///   - events: with `.onDeliverPending` (the default) handlers run on the caller's thread
    ///     at the end of each operation; a `.dedicatedThread` publisher starts its thread.
    /// - Throws: as `ClientPool(uri:)`; also `.unsupportedConfiguration` for loadBalanced=true,
    ///   which this client does not support.
    public init(
        uri: String,
        logger: Logger = Logger(label: "mongo.singlethreaded"),
        events: EventPublisher = EventPublisher(delivery: .onDeliverPending)
    ) throws(ClientPoolError) {
        let settings = try ClientPool.settings(uri: uri, for: .singleThreaded, logger: logger)
        if settings.topology.loadBalanced {
            throw .unsupportedConfiguration("loadBalanced=true is not supported by the single-threaded client (use ClientPool)")
        }
        let security = try ConnectionSecurity(settings: settings)
        var options = settings.monitoring
        options.threadName = "unused"
        do {
            monitor = try CallersThreadMonitor(
                settings: settings.topology, options: options, events: events, tls: security.tls,
                handshake: Self.handshakeAuthentication(security))
        } catch let error as TopologySettingsError {
            throw .unsupportedConfiguration(error.description)
        } catch {
            throw .monitorStartFailed("\(error)")
        }
        self.settings = settings
        self.security = security
        self.events = events
        self.logger = logger
        selector = settings.selector
    }

    deinit { close() }

    /// What each new connection's handshake carries to authenticate (nil without credentials):
    /// the conversation's first step, finished when the application first uses the connection.
    private static func handshakeAuthentication(_ security: ConnectionSecurity) -> (@Sendable (ServerAddress) -> SharedHandshake)? {
        guard security.credential != nil else { return nil }
        return { server in
            guard let authentication = security.authentication(for: server) else {
                return SharedHandshake(saslSupportedMechs: nil, speculativeAuthenticate: nil, conversation: nil)
            }
            do {
                let opening = try authentication.opening()
                return SharedHandshake(saslSupportedMechs: opening.saslSupportedMechs,
                                       speculativeAuthenticate: opening.speculativeAuthenticate, conversation: opening)
            } catch {
                // Reported when the application uses the connection.
                return SharedHandshake(saslSupportedMechs: nil, speculativeAuthenticate: nil, conversation: error)
            }
        }
    }

    // MARK: - Commands

    /// Runs a command and returns its reply, selecting a server by `readPreference` as
    /// `MongoClient.runCommand` does.
    /// - Throws: as `MongoClient.runCommand`; `.serverSelectionTimeout` with `triedOnce` when
    ///   serverSelectionTryOnce gave up after one scan; `.clientClosed`.
    public func runCommand(
        _ command: BSONDocument,
        database: String,
        readPreference: ReadPreference = .primary
    ) throws(ClientPoolError) -> BSONDocument {
        try operation { () throws(ClientPoolError) in try execute(command, database: database, operation: .read(readPreference)) }
    }

    /// Runs a write command on a server that takes writes, as `MongoClient.runWriteCommand`.
    public func runWriteCommand(_ command: BSONDocument, database: String) throws(ClientPoolError) -> BSONDocument {
        try operation { () throws(ClientPoolError) in try execute(command, database: database, operation: .write) }
    }

    /// Selects a server as an operation would (scanning first when a scan is due).
    public func selectServer(
        for operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress> = []
    ) throws(ClientPoolError) -> ServerDescription {
        try self.operation { () throws(ClientPoolError) in try select(for: operation, deprioritized: deprioritized).server }
    }

    /// Adds a handler of scan reports, delivered like events (in order with them).
    public func addScanHandler(_ handler: @escaping @Sendable (ScanReport) -> Void) {
        scanHandlers.append(handler)
    }

    /// Delivers the events published so far (operations do this when they end).
    public func deliverEvents() {
        events.deliverPending()
    }

    /// An operation: events published during it are delivered when it ends, on this thread.
    private func operation<T>(_ body: () throws(ClientPoolError) -> T) throws(ClientPoolError) -> T {
        guard !closed else { throw .clientClosed }
        defer { events.deliverPending() }
        return try body()
    }

    private func execute(_ command: BSONDocument, database: String, operation: ServerSelectionOperation) throws(ClientPoolError) -> BSONDocument {
        try CommandExecution.withOverloadRetries(
            policy: settings.overloadRetry, tokens: retryTokens, logger: logger,
            attempt: { deprioritized throws(ClientPoolError) in
                try attemptOnce(command, database: database, operation: operation, deprioritized: deprioritized)
            },
            wait: { delay throws(ClientPoolError) in
                monitor.wait(until: MonotonicClock.nanoseconds() + UInt64(max(0, delay.inMilliseconds)) * 1_000_000)
            })
    }

    private func attemptOnce(
        _ command: BSONDocument, database: String, operation: ServerSelectionOperation, deprioritized: Set<ServerAddress>
    ) throws(ClientPoolError) -> BSONDocument {
        // A server that closed an idle connection while nobody ran the loop: seen now.
        monitor.poll()
        let (selection, connection) = try selectWithConnection(for: operation, deprioritized: deprioritized)
        let server = selection.server.address
        let body = ReadPreferencePassing.command(
            command, for: operation, serverType: selection.server.type, topologyType: selection.topologyType)
        let name = command.keys.first ?? "(empty)"
        let reply: BSONDocument
        do {
            reply = try roundTrip(body, database: database, on: server, connection: connection, deadline: deadline(after: settings.socketTimeout),
                                  phase: .afterHandshakeCompletes, doing: "running the command '\(name)'")
        } catch {
            throw CommandExecution.report(error, generation: connection.generation, maxWireVersion: connection.maxWireVersion,
                                          feed: feedSDAM)
        }
        return try CommandExecution.examine(reply, of: command, from: server, generation: connection.generation,
                                            maxWireVersion: connection.maxWireVersion, serviceId: nil, feed: feedSDAM)
    }

    /// SDAM feedback, and the single-threaded rule on top: an error that says the topology is
    /// out of date makes the next operation scan first.
    private func feedSDAM(_ error: ApplicationError) {
        topology.handle(error)
        if ScanSchedule.marksTopologyStale(error) { monitor.markStale() }
    }

    // MARK: - Selection and the server's connection

    /// A selected server and its connection, ready for a command: a connection idle past
    /// socketCheckIntervalMS, or none at all, is checked first (and the server selected again
    /// after the check, server-selection spec "Checking an Idle Socket"); one that was never
    /// used authenticates.
    private func selectWithConnection(
        for operation: ServerSelectionOperation, deprioritized: Set<ServerAddress>
    ) throws(ClientPoolError) -> (MongoClient.Selection, SharedConnectionInfo) {
        let interval = UInt64(max(0, settings.socketCheckInterval.inMilliseconds)) * 1_000_000
        var checked: Set<ServerAddress> = []
        while true {
            let selection = try select(for: operation, deprioritized: deprioritized)
            let server = selection.server.address
            if monitor.isChecking(server) {
                // A check the loop started by itself (a connection found closed): let it end.
                monitor.waitForCheck(of: server)
                continue
            }
            let now = MonotonicClock.nanoseconds()
            if let connection = monitor.connection(to: server),
               checked.contains(server) || now < connection.lastUsedNS + interval {
                return (selection, try authenticated(connection, to: server))
            }
            guard checked.insert(server).inserted else {
                throw .network(NetworkFailure(server: server, duringHandshake: true, timedOut: false,
                                              reason: "no connection after a check that found the server available", errorLabels: []))
            }
            monitor.check(server)
        }
    }

    /// Selects a server as the server-selection spec's single-threaded algorithm says (see
    /// `SingleThreadedSelection`), scanning as it decides.
    private func select(for operation: ServerSelectionOperation, deprioritized: Set<ServerAddress>) throws(ClientPoolError) -> MongoClient.Selection {
        let timeoutMS = settings.topology.serverSelectionTimeout.inMilliseconds
        var selection = SingleThreadedSelection(startedAt: MonotonicClock.nanoseconds(), timeoutMS: timeoutMS,
                                                tryOnce: settings.serverSelectionTryOnce)
        var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))
        while true {
            guard !closed else { throw .clientClosed }
            let step = selection.next(schedule: monitor.schedule, at: MonotonicClock.nanoseconds())
            switch step {
            case .scan(let notBefore):
                monitor.wait(until: notBefore)
                scan()
                selection.scanned()
                continue
            case .select:
                let description = topology.description
                do {
                    if let server = try selector.select(for: operation, in: description, deprioritized: deprioritized,
                                                        operationCount: { _ in 0 }, using: &generator) {
                        return MongoClient.Selection(server: server, topologyType: description.type)
                    }
                } catch {
                    throw .selectionRefused(error)
                }
                monitor.markStale()
                guard let failure = selection.selectionFailed(at: MonotonicClock.nanoseconds()) else { continue }
                throw selectionError(failure, for: operation, in: description)
            case .failAfterScan, .timedOut:
                throw selectionError(step, for: operation, in: topology.description)
            }
        }
    }

    private func selectionError(
        _ step: SingleThreadedSelection.Step, for operation: ServerSelectionOperation, in description: TopologyDescription
    ) -> ClientPoolError {
        var timeout = ServerSelectionTimeout(
            operation: operation, timeoutMS: Int(settings.topology.serverSelectionTimeout.inMilliseconds), topology: description,
            reason: selector.reasonForTimeout(for: operation, in: description))
        timeout.triedOnce = step == .failAfterScan
        return .serverSelectionTimeout(timeout)
    }

    /// Scans now and publishes the report.
    private func scan() {
        let schedule = monitor.schedule
        let reason: ScanReport.Reason = schedule.scansCompleted == 0 ? .initial : schedule.isStale ? .stale : .heartbeat
        let report = monitor.scan(reason: reason)
        lastScan = report
        logger.debug("scan", metadata: ["mongo.scan": "\(report.summary)"])
        let handlers = scanHandlers
        if !handlers.isEmpty {
            events.publish(work: { for handler in handlers { handler(report) } })
        }
    }

    /// Finishes authenticating a connection the application uses for the first time: the
    /// conversation its handshake began goes on (one round trip for SCRAM, none for X.509), or
    /// starts over when a check's hello went over the connection since.
    private func authenticated(_ connection: SharedConnectionInfo, to server: ServerAddress) throws(ClientPoolError) -> SharedConnectionInfo {
        guard !connection.authenticated else { return connection }
        let failure: ConnectionError
        do throws(ConnectionError) {
            guard let authentication = security.authentication(for: server) else {
                monitor.markAuthenticated(server)
                return connection
            }
            switch connection.handshake?.conversation {
            case let opening as ConnectionAuthentication.Opening:
                var helloReply = connection.handshakeReply
                if connection.helloSinceHandshake { helloReply["speculativeAuthenticate"] = nil }
                try authentication.complete(opening, helloReply: helloReply) { command, database throws(ConnectionError) in
                    let name = command.keys.first ?? "?"
                    return try roundTrip(command, database: database, on: server, connection: connection,
                                         deadline: deadline(after: settings.monitoring.connectTimeout),
                                         phase: .beforeHandshakeCompletes, doing: "authenticating (\(name))")
                }
                monitor.markAuthenticated(server)
                var done = connection
                done.authenticated = true
                return done
            case let error as ConnectionError:
                throw error
            default:
                throw ConnectionError(kind: .invalidCommand, server: server, phase: .beforeHandshakeCompletes,
                                      reason: "the connection's handshake carried no authentication")
            }
        } catch {
            failure = error
        }
        monitor.abandonConnection(to: server)
        throw CommandExecution.report(failure, generation: connection.generation, maxWireVersion: connection.maxWireVersion,
                                      feed: feedSDAM)
    }

    /// One command's round trip on the server's connection, with the loop running until the
    /// reply or `deadline`.
    private func roundTrip(
        _ command: BSONDocument, database: String, on server: ServerAddress, connection: SharedConnectionInfo,
        deadline: UInt64?, phase: ApplicationError.Phase, doing activity: String
    ) throws(ConnectionError) -> BSONDocument {
        let message = Handshake.commandMessage(requestID: ServerConnection.makeRequestID(), command: command, database: database)
        let bytes = try ConnectionError.encoded(message, maxMessageSizeBytes: connection.maxMessageSizeBytes, server: server, phase: phase)
        switch monitor.roundTrip(bytes, requestID: message.requestID, to: server, deadline: deadline) {
        case .reply(let reply):
            do {
                return try ConnectionError.document(of: reply, from: server, phase: phase)
            } catch {
                monitor.abandonConnection(to: server)
                throw error
            }
        case .failed(let reason):
            throw ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): \(reason)")
        case .timedOut:
            throw ConnectionError(kind: .timeout, server: server, phase: phase, reason: "\(activity): timed out")
        case .noConnection:
            throw ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): the connection is not open")
        }
    }

    private func deadline(after timeout: Duration?) -> UInt64? {
        timeout.map { MonotonicClock.nanoseconds() + UInt64(max(0, $0.inMilliseconds)) * 1_000_000 }
    }

    // MARK: - Closing

    public var isClosed: Bool { closed }

    /// Closes every connection and the topology (ServerClosed and TopologyClosed are
    /// delivered before this returns). Idempotent.
    public func close() {
        guard !closed else { return }
        closed = true
        monitor.close()
        events.deliverPending()
    }

    // MARK: - For tests

    /// Host names looked up so far (IP literals never are).
    var nameLookups: Int { monitor.nameLookupCount }
}
