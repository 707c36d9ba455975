import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// One client of a `ClientPool`: what a thread pops, uses, and pushes back.
///
/// A client selects servers from the pool's shared topology and runs commands over its own
/// connections, one per server, opened on first use and kept between commands. Errors feed
/// back into the topology as the SDAM specification's error handling says, so the next
/// operation — on any client of the pool — finds the new primary.
///
/// Use a client from one thread at a time (the thread that popped it). It is `Sendable` so that
/// it can travel between threads through the pool.
public final class MongoClient: Sendable {
    let shared: PoolShared
    private let connections = ConditionLock<Connections>(Connections())

    struct Connections {
        var byServer: [ServerAddress: ServerConnection] = [:]
        /// The connection an operation is using right now (closing the pool interrupts it).
        var inUse: ServerConnection?
        /// Set when the pool closed: no connection is opened or kept after that.
        var closed = false
    }

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

    private func execute(
        _ command: BSONDocument,
        database: String,
        operation: ServerSelectionOperation
    ) throws(ClientPoolError) -> BSONDocument {
        let selection = try select(for: operation, deprioritized: [])
        let server = selection.server
        defer { shared.operationCounts.decrement(server.address) }

        let connection = try checkOutConnection(to: server)
        let body = ReadPreferencePassing.command(
            command, for: operation, serverType: server.type, topologyType: selection.topologyType
        )
        let reply: BSONDocument
        do {
            reply = try connection.run(body, database: database, socketTimeout: shared.settings.socketTimeout)
        } catch {
            checkIn(connection, keep: false)
            // Closing the pool interrupts the connection in use: say so rather than "reset".
            if shared.isClosed { throw .poolClosed }
            throw report(error, generation: connection.generation, maxWireVersion: connection.maxWireVersion)
        }
        checkIn(connection, keep: true)
        return try examine(reply, of: command, from: connection)
    }

    /// Feeds state-change errors in the reply into SDAM; throws `commandFailed` for `ok: 0`.
    private func examine(
        _ reply: BSONDocument,
        of command: BSONDocument,
        from connection: ServerConnection
    ) throws(ClientPoolError) -> BSONDocument {
        // A top-level "not writable primary"/"node is recovering", or one in writeConcernError.
        if StateChangeError(reply: reply) != nil {
            shared.topology.handle(ApplicationError(
                address: connection.address,
                generation: connection.generation,
                maxWireVersion: connection.maxWireVersion,
                phase: .afterHandshakeCompletes,
                kind: .command(reply)
            ))
        }
        guard reply["ok"]?.isTruthy == true else {
            throw .commandFailed(CommandFailed(server: connection.address, commandName: command.keys.first ?? "(empty)", reply: reply))
        }
        return reply
    }

    /// Tells the topology about a connection's failure, when SDAM takes that kind of error,
    /// and returns the error to throw.
    private func report(_ error: ConnectionError, generation: Int, maxWireVersion: Int) -> ClientPoolError {
        var labels: [String] = []
        if let kind = error.applicationErrorKind {
            let applicationError = ApplicationError(
                address: error.server,
                generation: generation,
                maxWireVersion: maxWireVersion,
                phase: error.phase,
                kind: kind
            )
            shared.topology.handle(applicationError)
            labels = applicationError.backpressureLabels
        }
        switch error.kind {
        case .network, .timeout:
            return .network(NetworkFailure(
                server: error.server,
                duringHandshake: error.phase == .beforeHandshakeCompletes,
                timedOut: error.kind == .timeout,
                reason: error.reason,
                errorLabels: labels
            ))
        case .invalidReply:
            return .invalidReply(server: error.server, reason: error.reason)
        case .invalidCommand:
            return .invalidCommand(server: error.server, reason: error.reason)
        case .handshakeRejected(let reply):
            var failure = CommandFailed(server: error.server, commandName: "hello", reply: reply)
            failure.errorLabels += labels
            return .commandFailed(failure)
        }
    }

    // MARK: - Connections

    /// The client's connection to `server`, opened (and handshaken) if there is none or the
    /// one there is stale (made before the server's pool was last cleared), marked in use.
    private func checkOutConnection(to server: ServerDescription) throws(ClientPoolError) -> ServerConnection {
        let address = server.address
        let generation = shared.topology.poolGeneration(for: address) ?? 0
        let existing = connections.withLock { c -> Result<ServerConnection?, ClientPoolError> in
            guard !c.closed else { return .failure(.poolClosed) }
            guard let connection = c.byServer[address] else { return .success(nil) }
            guard connection.generation >= generation, connection.isOpen else {
                c.byServer[address] = nil
                connection.close()
                return .success(nil)
            }
            c.inUse = connection
            return .success(connection)
        }
        if let connection = try existing.get() { return connection }

        let connection: ServerConnection
        do {
            connection = try ServerConnection.establish(to: address, generation: generation, settings: shared.settings)
        } catch {
            // For an error before the handshake completes, the generation is the pool's when
            // the attempt started (SDAM "Error handling").
            throw report(error, generation: generation, maxWireVersion: server.maxWireVersion)
        }
        let added = connections.withLock { c -> Bool in
            guard !c.closed else { return false }
            c.byServer[address]?.close()
            c.byServer[address] = connection
            c.inUse = connection
            return true
        }
        guard added else {
            connection.close()
            throw .poolClosed
        }
        return connection
    }

    /// Ends an operation's use of `connection`: kept for the next operation, or closed (after
    /// an error, or when the pool closed meanwhile).
    private func checkIn(_ connection: ServerConnection, keep: Bool) {
        connections.withLock { c in
            if c.inUse === connection { c.inUse = nil }
            if !keep || c.closed {
                if c.byServer[connection.address] === connection { c.byServer[connection.address] = nil }
                connection.close()
            }
        }
    }

    /// Closes every idle connection and interrupts the one in use (its thread closes it), and
    /// refuses new ones. Called when the pool closes.
    func closeConnections() {
        connections.withLock { c in
            c.closed = true
            for (address, connection) in c.byServer where connection !== c.inUse {
                connection.close()
                c.byServer[address] = nil
            }
            c.inUse?.interrupt()
        }
    }

    /// Open connections this client holds, for tests and diagnostics.
    var openConnectionCount: Int {
        connections.withLock { c in c.byServer.values.filter(\.isOpen).count }
    }
}
