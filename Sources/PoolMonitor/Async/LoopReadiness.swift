/// Tells waiting tasks when a socket is ready, from a libev loop: the async face's way of
/// waiting for I/O. The task does its non-blocking read or write itself (on whichever
/// cooperative thread it runs); when the socket would block it awaits readiness here, which
/// costs an I/O watcher on the loop and no thread.
///
/// Every wait ends on the loop thread after its watcher and timer are stopped — readiness, the
/// deadline, the task's cancellation, or `close()` — so a task that goes on to close its socket
/// never leaves a watcher on a descriptor that may be reused (architecture rule 1).
package final class LoopReadiness: Sendable {
    package enum Outcome: Sendable, Equatable {
        case ready
        case timedOut
        /// The loop is closing or closed: no more waits.
        case closed
    }

    /// One wait, on the loop.
    private final class Pending {
        let waiter: AsyncWaiter<Outcome>
        var watcher: IOWatcher?
        var timer: TimerWatcher?
        init(waiter: AsyncWaiter<Outcome>) { self.waiter = waiter }
    }

    private struct LoopState {
        var pending: [UInt64: Pending] = [:]
        var closed = false
    }

    package let loop: MonitorLoop
    private let state: LoopBound<LoopState>
    private let nextID = ConditionLock<UInt64>(1)

    package init(loop: MonitorLoop) {
        self.loop = loop
        state = LoopBound(LoopState(), loop: loop)
    }

    /// Waits until `fd` is ready for `events`, the monotonic `deadline` passes, or the loop
    /// closes.
    /// - Throws: `CancellationError` when the task is cancelled (after the watcher stopped).
    package func wait(fd: Int32, for events: IOWatcher.Events, until deadline: UInt64?) async throws -> Outcome {
        try Task.checkCancellation()
        let waiter = AsyncWaiter<Outcome>()
        let id = nextID.withLock { id -> UInt64 in
            defer { id += 1 }
            return id
        }
        guard loop.execute({ [self] in start(id, fd: fd, events: events, deadline: deadline, waiter: waiter) }) else {
            return .closed
        }
        return try await withTaskCancellationHandler {
            try await waiter.suspend()
        } onCancel: { [self] in
            if !loop.execute({ [self] in finish(id, .failure(CancellationError())) }) {
                waiter.resume(.failure(CancellationError()))
            }
        }
    }

    /// Ends every wait with `.closed` and refuses new ones; call before the loop shuts down.
    package func close() {
        let posted = loop.execute { [self] in
            state.value.closed = true
            for id in Array(state.value.pending.keys) { finish(id, .success(.closed)) }
        }
        _ = posted
    }

    /// Waits in progress (for tests).
    package var pendingCount: Int {
        let count = ConditionLock(0)
        let done = ConditionLock(false)
        guard loop.execute({ [self] in
            count.withLock { $0 = state.value.pending.count }
            done.withLock { $0 = true }
            done.broadcast()
        }) else { return 0 }
        _ = done.wait(until: nil) { $0 ? true : nil }
        return count.withLock { $0 }
    }

    // MARK: - On the loop

    private func start(_ id: UInt64, fd: Int32, events: IOWatcher.Events, deadline: UInt64?, waiter: AsyncWaiter<Outcome>) {
        guard !state.value.closed else {
            waiter.resume(.success(.closed))
            return
        }
        let pending = Pending(waiter: waiter)
        state.value.pending[id] = pending
        let watcher = IOWatcher(loop: loop, fd: fd, events: events) { [unowned self] _ in finish(id, .success(.ready)) }
        pending.watcher = watcher
        watcher.start()
        if let deadline {
            let now = MonotonicClock.nanoseconds()
            let timer = TimerWatcher(loop: loop) { [unowned self] in finish(id, .success(.timedOut)) }
            pending.timer = timer
            timer.start(after: deadline > now ? Double(deadline - now) / 1e9 : 0)
        }
    }

    /// Stops the wait's watchers, then resumes its task (a wait already finished is gone).
    private func finish(_ id: UInt64, _ result: Result<Outcome, any Error>) {
        guard let pending = state.value.pending.removeValue(forKey: id) else { return }
        pending.watcher?.stop()
        pending.timer?.stop()
        pending.watcher = nil
        pending.timer = nil
        pending.waiter.resume(result)
    }
}
