import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

// MARK: - The async face of a client: the same selection, command building, error handling and
// SDAM feedback as the blocking calls (shared functions), with every wait a continuation.

extension MongoClient {
    /// Runs a command from a task: the async overload of the blocking
    /// `runCommand(_:database:readPreference:)`, with the same selection, command and errors.
    ///
    /// No thread is held while it waits: for a suitable server (a continuation on the
    /// topology, resumed at its next change), for a connection (a continuation in the server's
    /// connection pool), or for the server's bytes (the operations loop tells the task when its
    /// socket is ready).
    ///
    /// Cancelling the task ends a wait at once, and an operation in flight: its connection is
    /// closed (the server is not marked Unknown for it) and `CancellationError` is thrown.
    /// - Throws: `ClientPoolError` as the blocking call; `CancellationError`.
    public func runCommand(
        _ command: BSONDocument,
        database: String,
        readPreference: ReadPreference = .primary
    ) async throws -> BSONDocument {
        try await execute(command, database: database, operation: .read(readPreference))
    }

    /// Runs a write command from a task on a server that takes writes (the async overload of
    /// `runWriteCommand(_:database:)`).
    /// - Throws: as `runCommand(_:database:readPreference:)`.
    public func runWriteCommand(_ command: BSONDocument, database: String) async throws -> BSONDocument {
        try await execute(command, database: database, operation: .write)
    }

    /// Selects a server from a task, waiting as a continuation (the async overload of
    /// `selectServer(for:deprioritized:)`).
    public func selectServer(
        for operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress> = []
    ) async throws -> ServerDescription {
        let selection = try await select(for: operation, deprioritized: deprioritized, loop: shared.operationsLoop())
        shared.operationCounts.decrement(selection.server.address)
        return selection.server
    }

    private func execute(_ command: BSONDocument, database: String, operation: ServerSelectionOperation) async throws -> BSONDocument {
        let loop = try shared.operationsLoop()
        var retries = OverloadRetries(shared: shared)
        while true {
            do {
                return retries.succeeded(try await attemptOnce(command, database: database, operation: operation,
                                                               deprioritized: retries.deprioritized, loop: loop))
            } catch let error as ClientPoolError {
                try await Task.sleep(for: retries.delay(after: error))
                if shared.isClosed { throw ClientPoolError.poolClosed }
            }
        }
    }

    private func attemptOnce(
        _ command: BSONDocument, database: String, operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress>, loop: OperationsLoop
    ) async throws -> BSONDocument {
        let selection = try await select(for: operation, deprioritized: deprioritized, loop: loop)
        defer { shared.operationCounts.decrement(selection.server.address) }
        let (pool, checkedOut) = try await checkOutConnection(to: selection.server, loop: loop)
        let reply: BSONDocument
        do {
            reply = try await checkedOut.connection.run(body(command, for: operation, selection), database: database,
                                                        socketTimeout: shared.settings.socketTimeout, readiness: loop.readiness)
        } catch let error as ConnectionError {
            throw failed(error, checkedOut, from: pool, server: selection.server)
        } catch {
            // Cancelled mid-command: the stream is mid-message, so the connection is closed;
            // it says nothing about the server, so SDAM is not told.
            pool.checkIn(checkedOut, perished: true)
            throw error
        }
        return try succeeded(reply, of: command, checkedOut, from: pool)
    }

    /// `select(for:deprioritized:)` for a task: the same loop, waiting on the topology as a
    /// continuation (its deadline on the operations loop).
    func select(for operation: ServerSelectionOperation, deprioritized: Set<ServerAddress>, loop: OperationsLoop) async throws -> Selection {
        var selecting = SelectionLoop(shared: shared, operation: operation, deprioritized: deprioritized)
        while let wait = try selecting.next() {
            do {
                selecting.changed(to: try await shared.topology.nextChange(after: wait.version, until: wait.deadline, timers: loop.deadlines))
            } catch is Topology.WaitError {
                throw ClientPoolError.poolClosed
            }
        }
        return selecting.selection!
    }

    /// `checkOutConnection(to:)` for a task: a continuation in the pool's queue; a new
    /// connection is established by this task, its waits on the operations loop.
    private func checkOutConnection(
        to server: ServerDescription, loop: OperationsLoop
    ) async throws -> (ServerConnectionPool<ServerConnection>, ServerConnectionPool<ServerConnection>.CheckedOut) {
        // As in the blocking check-out. This blocks the task's thread while another thread
        // carries out pending pool commands, or carries them out itself: they take locks, queue
        // events and close the sockets of a cleared or removed server's pool, a short wait.
        shared.topology.waitForPoolCommands()
        let (pool, generation) = try pool(for: server)
        let deadline = BlockingChannel.deadline(after: shared.settings.waitQueueTimeout)
        do {
            return (pool, try await pool.checkOut(deadline: deadline, readiness: loop.readiness, timers: loop.deadlines))
        } catch let error as ServerConnectionPool<ServerConnection>.CheckOutFailure {
            throw checkOutError(error, server: server, generation: generation)
        }
    }
}
