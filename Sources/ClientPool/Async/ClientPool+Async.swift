import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

// MARK: - The async face (Motor's idea: one core, a second face)

extension ClientPool {
    /// Takes a free client for a task, creating one while fewer than maxPoolSize exist, else
    /// waits — as a continuation, holding no thread — until one is pushed back.
    ///
    /// Waiting tasks are served in arrival order, before threads waiting in the blocking
    /// `pop()`.
    /// - Throws: `ClientPoolError.waitQueueTimeout` after waitQueueTimeoutMS; `.poolClosed`
    ///   when the pool is (or gets) closed, or drains for a graceful shutdown;
    ///   `CancellationError` at once when the task is cancelled.
    public func pop() async throws -> MongoClient {
        try Task.checkCancellation()
        let loop = try shared.operationsLoop()
        let waiter = AsyncWaiter<MongoClient>()
        enum Taken { case client(MongoClient), waiting(UInt64) }
        let taken = try state.withLock { s throws(ClientPoolError) -> Taken in
            if s.closed || s.draining { throw .poolClosed }
            if let client = takeClient(&s) { return .client(client) }
            return .waiting(s.waiters.append(waiter))
        }
        guard case .waiting(let id) = taken else {
            if case .client(let client) = taken { return client }
            preconditionFailure("unreachable")
        }
        let timeoutMS = settings.waitQueueTimeout.map { Int($0.inMilliseconds) } ?? 0
        let maxPoolSize = settings.maxPoolSize
        let withdraw: @Sendable () -> Void = { [state] in state.withLock { s in s.waiters.remove(id) } }
        return try await waiter.value(until: BlockingChannel.deadline(after: settings.waitQueueTimeout), timers: loop.deadlines, onDeadline: {
            if waiter.resume(.failure(ClientPoolError.waitQueueTimeout(waitQueueTimeoutMS: timeoutMS, maxPoolSize: maxPoolSize))) { withdraw() }
        }, withdraw: withdraw)
    }

    /// Pops a client for a task, runs `body` with it and pushes it back, also when `body`
    /// throws or the task is cancelled. No thread is held while the task waits for the client,
    /// a server or a connection, nor while its commands wait for the server.
    ///
    /// ```swift
    /// let reply = try await pool.withClient { client in
    ///     try await client.runCommand(["ping": 1], database: "admin")
    /// }
    /// ```
    /// - Throws: what `pop()` throws, or what `body` throws.
    public func withClient<T: Sendable>(_ body: (MongoClient) async throws -> T) async throws -> T {
        let client = try await pop()
        do {
            let result = try await body(client)
            push(client)
            return result
        } catch {
            push(client)
            throw error
        }
    }

    /// Closes the pool from a task: `close()`'s work (its waiters fail, the monitor's thread is
    /// joined, every socket closed) on a thread of its own, so that joining threads holds no
    /// cooperative thread. Idempotent.
    public func close() async {
        let done = AsyncWaiter<Void>()
        WorkerThreads.runDetached(name: "sdam-close") { [self] in
            close()
            done.resume(.success(()))
        }
        _ = try? await done.value(withdraw: {})
        // Cancellation ends the wait, not the close: it goes on on its own thread.
    }

    /// Starts a graceful shutdown: no client is handed out any more (waiting and later `pop`s
    /// fail with `.poolClosed`, and so do selections waiting for a server), while operations
    /// past selection go on; returns once every client is back (or the pool closed).
    /// - Throws: `CancellationError` when the task is cancelled first.
    func drain() async throws {
        let waiter = AsyncWaiter<Void>()
        let (clients, done) = state.withLock { s -> ([AsyncWaiter<MongoClient>], Bool) in
            s.draining = true
            let waiting = s.waiters.removeAll()
            if s.closed || s.idle.count == s.all.count { return (waiting, true) }
            s.drained.append(waiter)
            return (waiting, false)
        }
        shared.markDraining()
        notifyWaiters()
        for client in clients { client.resume(.failure(ClientPoolError.poolClosed)) }
        shared.topology.wakeWaiters()
        if done { return }
        try await waiter.value(withdraw: { [state] in state.withLock { s in s.drained.removeAll { $0 === waiter } } })
    }

    /// Tasks waiting for a free client (for tests and diagnostics).
    package var waitingTaskCount: Int { state.withLock { $0.waiters.count } }
}
