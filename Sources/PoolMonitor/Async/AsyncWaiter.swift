/// One waiting task's continuation, resumed exactly once: by whoever calls `resume` first —
/// the owner handing over what the task waits for (a topology change, a client, a connection),
/// a deadline, task cancellation, or a close. Every later `resume` returns false and does
/// nothing, so an owner that hands over a resource (a client, a connection) and loses the race
/// takes it back.
///
/// Owners keep waiters in a list under their own lock, take them out under it, and resume them
/// after unlocking (architecture rule 3: resumed outside locks). The continuation itself is
/// resumed outside this waiter's lock too.
@_spi(LoopPrimitives) public final class AsyncWaiter<Value: Sendable>: Sendable {
    private enum State {
        /// Neither suspended nor resumed yet.
        case fresh
        case suspended(CheckedContinuation<Value, any Error>)
        /// Resumed; the result is kept until the task suspends (nil once handed to it).
        case resumed(Result<Value, any Error>?)
    }

    private let state = ConditionLock<State>(.fresh)

    public init() {}

    /// Resumes the waiting task with `result`, unless something resumed it already.
    /// - Returns: whether this call decided the task's outcome.
    @discardableResult
    public func resume(_ result: Result<Value, any Error>) -> Bool {
        let continuation = state.withLock { s -> CheckedContinuation<Value, any Error>?? in
            switch s {
            case .fresh:
                s = .resumed(result)
                return .some(nil)
            case .suspended(let continuation):
                s = .resumed(nil)
                return .some(continuation)
            case .resumed:
                return nil
            }
        }
        guard let won = continuation else { return false }
        won?.resume(with: result)
        return true
    }

    /// Whether the waiter was resumed (its outcome is decided).
    public var isResumed: Bool {
        state.withLock { if case .resumed = $0 { true } else { false } }
    }

    /// Suspends until `resume`; at once when it was resumed before. Owners that must do work
    /// before a cancelled task goes on (stop a watcher) handle cancellation themselves around it.
    package func suspend() async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let early = state.withLock { s -> Result<Value, any Error>? in
                switch s {
                case .fresh:
                    s = .suspended(continuation)
                    return nil
                case .resumed(let result):
                    s = .resumed(nil)
                    return result
                case .suspended:
                    preconditionFailure("AsyncWaiter awaited twice")
                }
            }
            if let early { continuation.resume(with: early) }
        }
    }

    /// Waits for the outcome. The owner registered this waiter (under its lock) before calling.
    ///
    /// - Parameters:
    ///   - deadline: monotonic nanoseconds; at that time `onDeadline` runs (on `timers`' loop),
    ///     and should resume the waiter with the owner's timeout outcome or feed its state
    ///     machine the timeout.
    ///   - withdraw: runs once, after task cancellation resumed the waiter with
    ///     `CancellationError`: the owner takes the waiter off its list (and gives back what it
    ///     may have handed it meanwhile).
    /// - Throws: `CancellationError` at once when the task is (or gets) cancelled; what the
    ///   owner resumed it with.
    public func value(
        until deadline: UInt64? = nil,
        timers: LoopDeadlines? = nil,
        onDeadline: @escaping @Sendable () -> Void = {},
        withdraw: @escaping @Sendable () -> Void
    ) async throws -> Value {
        try await withTaskCancellationHandler {
            let token = deadline.flatMap { timers?.schedule(at: $0, onDeadline) }
            defer { if let token { timers?.cancel(token) } }
            return try await suspend()
        } onCancel: {
            if resume(.failure(CancellationError())) { withdraw() }
        }
    }
}
