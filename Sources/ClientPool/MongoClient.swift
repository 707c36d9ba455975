import Logging
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// One client of a `ClientPool`: what a thread pops, uses, and pushes back.
///
/// A client selects servers from the pool's shared topology and runs each command on a
/// connection checked out of the selected server's connection pool (shared by every client of
/// the `ClientPool`) and checked in again after it. Errors feed back into the topology as the
/// SDAM specification's error handling says, so the next operation — on any client of the
/// pool — finds the new primary.
///
/// Use a client from one thread at a time (the thread that popped it). It is `Sendable` so that
/// it can travel between threads through the pool.
public final class MongoClient: Sendable {
    let shared: PoolShared

    init(shared: PoolShared) {
        self.shared = shared
    }

    // MARK: - Commands

    /// Runs a command and returns its reply, selecting a server by `readPreference` as the
    /// server-selection spec's generic command method does (primary by default; the URI's read
    /// preference does not apply).
    ///
    /// The command goes over OP_MSG with `$db` and, where the spec requires it for the topology
    /// and server type, `$readPreference`.
    ///
    /// - Parameters:
    ///   - command: the command document; its first key is the command name.
    ///   - database: the database to run it against (`$db`).
    ///   - readPreference: which servers may run it.
    /// - Returns: the reply, with `ok: 1`.
    /// - Throws: `ClientPoolError.commandFailed` for `ok: 0` (code, codeName, errmsg, server);
    ///   `.network` for a network error or timeout (the connection is closed and the topology
    ///   told); selection errors as `selectServer(for:deprioritized:)`; `.poolClosed`.
    @available(*, noasync, message: "blocks the calling thread; call it from a thread of your own, not from a Task")
    public func runCommand(
        _ command: BSONDocument,
        database: String,
        readPreference: ReadPreference = .primary
    ) throws(ClientPoolError) -> BSONDocument {
        try execute(command, database: database, operation: .read(readPreference))
    }

    /// Runs a write command (insert, update, delete, findAndModify…) on a server that takes
    /// writes: the primary of a replica set, a mongos, a standalone.
    ///
    /// - Throws: as `runCommand(_:database:readPreference:)`.
    @available(*, noasync, message: "blocks the calling thread; call it from a thread of your own, not from a Task")
    public func runWriteCommand(_ command: BSONDocument, database: String) throws(ClientPoolError) -> BSONDocument {
        try execute(command, database: database, operation: .write)
    }

    /// Runs the command, retrying it after overload errors as the client-backpressure spec's
    /// retry policy says (every command, runCommand included): an error labelled both
    /// SystemOverloadedError and RetryableError is retried up to maxAdaptiveRetries times, each
    /// retry taking a token from the pool's bucket and waiting a jittered exponential backoff
    /// (the server's baseBackoffMS if its reply names one), on another server when there is one.
    private func execute(
        _ command: BSONDocument,
        database: String,
        operation: ServerSelectionOperation
    ) throws(ClientPoolError) -> BSONDocument {
        var retries = OverloadRetries(shared: shared)
        while true {
            do {
                return try retries.succeeded(attemptOnce(command, database: database, operation: operation, deprioritized: retries.deprioritized))
            } catch {
                try waitBeforeRetry(retries.delay(after: error))
            }
        }
    }

    /// Sleeps the backoff in slices, so that closing the pool ends it at once.
    private func waitBeforeRetry(_ delay: Duration) throws(ClientPoolError) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, delay.inMilliseconds)) * 1_000_000
        _ = shared.closedSignal.wait(until: deadline) { $0 ? true : nil }
        if shared.isClosed { throw .poolClosed }
    }

    private func attemptOnce(
        _ command: BSONDocument,
        database: String,
        operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress>
    ) throws(ClientPoolError) -> BSONDocument {
        let selection = try select(for: operation, deprioritized: deprioritized)
        defer { shared.operationCounts.decrement(selection.server.address) }
        let (pool, checkedOut) = try checkOutConnection(to: selection.server)
        let reply: BSONDocument
        do {
            reply = try checkedOut.connection.run(body(command, for: operation, selection), database: database,
                                                  socketTimeout: shared.settings.socketTimeout)
        } catch {
            throw failed(error, checkedOut, from: pool, server: selection.server)
        }
        return try succeeded(reply, of: command, checkedOut, from: pool)
    }

    /// The command as sent: with `$readPreference` where the spec requires it.
    func body(_ command: BSONDocument, for operation: ServerSelectionOperation, _ selection: Selection) -> BSONDocument {
        ReadPreferencePassing.command(command, for: operation, serverType: selection.server.type, topologyType: selection.topologyType)
    }

    /// A command's connection failed: it is closed, and SDAM told when it takes the error.
    func failed(
        _ error: ConnectionError, _ checkedOut: ServerConnectionPool<ServerConnection>.CheckedOut,
        from pool: ServerConnectionPool<ServerConnection>, server: ServerDescription
    ) -> ClientPoolError {
        let connection = checkedOut.connection
        pool.checkIn(checkedOut, perished: true)
        // Closing the pool interrupts the connection in use: say so rather than "reset".
        if shared.isClosed { return .poolClosed }
        if connection.wasInterrupted {
            // The pool was cleared with interruptInUseConnections (the server's check timed
            // out): CMAP's PoolClearedError. SDAM already knows; its generation is stale.
            return .connectionPoolCleared(PoolClearedFailure(server: server.address, interrupted: true, cause: error.reason))
        }
        return report(error, generation: connection.generation, maxWireVersion: connection.maxWireVersion,
                      serviceId: connection.serviceId)
    }

    /// A command's reply came: the connection goes back, and the reply is examined.
    func succeeded(
        _ reply: BSONDocument, of command: BSONDocument, _ checkedOut: ServerConnectionPool<ServerConnection>.CheckedOut,
        from pool: ServerConnectionPool<ServerConnection>
    ) throws(ClientPoolError) -> BSONDocument {
        pool.checkIn(checkedOut, perished: false)
        return try examine(reply, of: command, from: checkedOut.connection)
    }

    /// Feeds state-change errors in the reply into SDAM; throws `commandFailed` for `ok: 0`.
    func examine(
        _ reply: BSONDocument,
        of command: BSONDocument,
        from connection: ServerConnection
    ) throws(ClientPoolError) -> BSONDocument {
        try CommandExecution.examine(reply, of: command, from: connection.address, generation: connection.generation,
                                     maxWireVersion: connection.maxWireVersion, serviceId: connection.serviceId,
                                     feed: { [topology = shared.topology] in topology.handle($0) })
    }

    /// Tells the topology about a connection's failure, when SDAM takes that kind of error
    /// (unless the pool already did: `feedSDAM: false` for a failed establishment), and returns
    /// the error to throw.
    private func report(
        _ error: ConnectionError, generation: Int, maxWireVersion: Int, serviceId: BSONObjectID? = nil, feedSDAM: Bool = true
    ) -> ClientPoolError {
        let topology = shared.topology
        let feed: ((ApplicationError) -> Void)? = feedSDAM ? { topology.handle($0) } : nil
        return CommandExecution.report(error, generation: generation, maxWireVersion: maxWireVersion, serviceId: serviceId, feed: feed)
    }

    // MARK: - Connections

    /// A connection to `server` from its pool: an available one, or one established now on
    /// this thread (TCP and handshake) when the pool makes one for this request.
    private func checkOutConnection(
        to server: ServerDescription
    ) throws(ClientPoolError) -> (ServerConnectionPool<ServerConnection>, ServerConnectionPool<ServerConnection>.CheckedOut) {
        // Selection may have seen the server usable in a transition whose mark-ready the
        // monitor's loop has not carried out yet (it starts the members' checks first, issue 17):
        // the pools hear of every transition so far before the check-out looks its pool up (SDAM:
        // marking the pool ready, and clearing it, are synchronized with the topology's update).
        shared.topology.waitForPoolCommands()
        let (pool, generation) = try pool(for: server)
        let deadline = BlockingChannel.deadline(after: shared.settings.waitQueueTimeout)
        do {
            return (pool, try pool.checkOut(deadline: deadline))
        } catch {
            throw checkOutError(error, server: server, generation: generation)
        }
    }

    /// The server's connection pool, and its generation before the check-out.
    func pool(for server: ServerDescription) throws(ClientPoolError) -> (ServerConnectionPool<ServerConnection>, generation: Int) {
        guard !shared.isClosed, let pool = shared.pools.poolForCheckOut(server.address) else { throw .poolClosed }
        return (pool, pool.generation)
    }

    /// What a failed check-out throws.
    func checkOutError(
        _ error: ServerConnectionPool<ServerConnection>.CheckOutFailure, server: ServerDescription, generation: Int
    ) -> ClientPoolError {
        let address = server.address
        switch error {
        case .poolClosed:
            if shared.isClosed { return .poolClosed }
            // The server left the topology while this operation was on its way to it.
            return .connectionPoolCleared(PoolClearedFailure(server: address, interrupted: false, cause: "\(address) left the topology"))
        case .poolCleared(let reason):
            return .connectionPoolCleared(PoolClearedFailure(server: address, interrupted: false, cause: reason))
        case .timeout:
            let timeoutMS = Int(shared.settings.waitQueueTimeout?.inMilliseconds ?? 0)
            return .waitQueueTimeout(waitQueueTimeoutMS: timeoutMS, maxPoolSize: shared.settings.maxPoolSize)
        case .establishment(let failure):
            // For an error before the handshake completes, the generation is the pool's
            // when the attempt started (SDAM "Error handling").
            return report(failure, generation: generation, maxWireVersion: server.maxWireVersion, feedSDAM: false)
        }
    }
}

/// One operation's overload retries (client-backpressure spec), shared by every face (the
/// blocking and async pooled clients, and through `CommandExecution.withOverloadRetries` the
/// single-threaded client): the servers to avoid, the attempt count and the client's token
/// bucket.
struct OverloadRetries {
    let policy: OverloadRetryPolicy
    let tokens: ConditionLock<RetryTokenBucket>
    let logger: Logger
    private(set) var deprioritized: Set<ServerAddress> = []
    private var attempt = 0

    init(policy: OverloadRetryPolicy, tokens: ConditionLock<RetryTokenBucket>, logger: Logger) {
        self.policy = policy
        self.tokens = tokens
        self.logger = logger
    }

    init(shared: PoolShared) {
        self.init(policy: shared.settings.overloadRetry, tokens: shared.retryTokens, logger: shared.logger)
    }

    /// Records a success (a token back in the bucket) and passes the reply on.
    func succeeded(_ reply: BSONDocument) -> BSONDocument {
        tokens.deposit(OverloadRetryPolicy.deposit(succeeded: true, attempt: attempt, labels: []))
        return reply
    }

    /// After a failed attempt: the backoff before the next one.
    /// - Throws: `error` itself when the policy (or the empty bucket) says not to retry.
    mutating func delay(after error: ClientPoolError) throws(ClientPoolError) -> Duration {
        let labels = error.errorLabels
        tokens.deposit(OverloadRetryPolicy.deposit(succeeded: false, attempt: attempt, labels: labels))
        let decision = policy.decide(afterAttempt: attempt, labels: labels, baseBackoffMS: error.baseBackoffMS,
                                     jitter: Double.random(in: 0..<1))
        guard case .retry(let delay) = decision, tokens.consume() else { throw error }
        if policy.retargets, let server = error.server { deprioritized.insert(server) }
        logger.debug("retrying after an overload error", metadata: [
            "mongo.server": "\(error.server.map(\.description) ?? "-")", "mongo.attempt": "\(attempt + 1)",
            "mongo.backoffMS": "\(delay.inMilliseconds)",
        ])
        attempt += 1
        return delay
    }
}
