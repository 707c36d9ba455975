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
        try CommandExecution.withOverloadRetries(
            policy: shared.settings.overloadRetry, tokens: shared.retryTokens, logger: shared.logger,
            attempt: { deprioritized throws(ClientPoolError) in
                try attemptOnce(command, database: database, operation: operation, deprioritized: deprioritized)
            },
            wait: { delay throws(ClientPoolError) in try waitBeforeRetry(delay) })
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
        let server = selection.server
        defer { shared.operationCounts.decrement(server.address) }

        let (pool, checkedOut) = try checkOutConnection(to: server)
        let connection = checkedOut.connection
        let body = ReadPreferencePassing.command(
            command, for: operation, serverType: server.type, topologyType: selection.topologyType
        )
        let reply: BSONDocument
        do {
            reply = try connection.run(body, database: database, socketTimeout: shared.settings.socketTimeout)
        } catch {
            pool.checkIn(checkedOut, perished: true)
            // Closing the pool interrupts the connection in use: say so rather than "reset".
            if shared.isClosed { throw .poolClosed }
            if connection.wasInterrupted {
                // The pool was cleared with interruptInUseConnections (the server's check timed
                // out): CMAP's PoolClearedError. SDAM already knows; its generation is stale.
                throw .connectionPoolCleared(PoolClearedFailure(server: server.address, interrupted: true, cause: error.reason))
            }
            throw CommandExecution.report(error, generation: connection.generation, maxWireVersion: connection.maxWireVersion,
                                          serviceId: connection.serviceId, feed: shared.topology.handle)
        }
        pool.checkIn(checkedOut, perished: false)
        return try CommandExecution.examine(reply, of: command, from: connection.address, generation: connection.generation,
                                            maxWireVersion: connection.maxWireVersion, serviceId: connection.serviceId,
                                            feed: shared.topology.handle)
    }

    // MARK: - Connections

    /// A connection to `server` from its pool: an available one, or one established now on
    /// this thread (TCP and handshake) when the pool makes one for this request.
    private func checkOutConnection(
        to server: ServerDescription
    ) throws(ClientPoolError) -> (ServerConnectionPool<ServerConnection>, ServerConnectionPool<ServerConnection>.CheckedOut) {
        let address = server.address
        guard !shared.isClosed, let pool = shared.pools.poolForCheckOut(address) else { throw .poolClosed }
        let generation = pool.generation
        let deadline = BlockingChannel.deadline(after: shared.settings.waitQueueTimeout)
        do {
            do {
                return (pool, try pool.checkOut(deadline: deadline))
            } catch .poolCleared where shared.topology.waitForPoolCommands() {
                // Selection saw the server known in a transition whose mark-ready had not
                // reached the pool yet: now it has, so try once more.
                return (pool, try pool.checkOut(deadline: deadline))
            }
        } catch {
            switch error {
            case .poolClosed:
                if shared.isClosed { throw .poolClosed }
                // The server left the topology while this operation was on its way to it.
                throw .connectionPoolCleared(PoolClearedFailure(server: address, interrupted: false, cause: "\(address) left the topology"))
            case .poolCleared(let reason):
                throw .connectionPoolCleared(PoolClearedFailure(server: address, interrupted: false, cause: reason))
            case .timeout:
                let timeoutMS = Int(shared.settings.waitQueueTimeout?.inMilliseconds ?? 0)
                throw .waitQueueTimeout(waitQueueTimeoutMS: timeoutMS, maxPoolSize: shared.settings.maxPoolSize)
            case .establishment(let failure):
                // For an error before the handshake completes, the generation is the pool's
                // when the attempt started (SDAM "Error handling").
                throw CommandExecution.report(failure, generation: generation, maxWireVersion: server.maxWireVersion, feed: nil)
            }
        }
    }
}
