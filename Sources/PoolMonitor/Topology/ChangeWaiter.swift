/// A task waiting for the topology's next change (the async face's selections).
///
/// A non-generic class around the `AsyncWaiter`, so that the topology's state and every
/// transition hold and move only references of a type whose metadata is static. Holding
/// `AsyncWaiter<Snapshot?>` there made the first transition instantiate the waiter's generic
/// state, whose `CheckedContinuation<_, any Error>` the runtime checks against `Error` by
/// scanning every protocol conformance in the process: about 0.1 ms of the first transition,
/// which is on the way to every deployment's discovery (issue 17). Resuming (`resume(_:with:)`)
/// touches the generic types, and runs only when tasks wait.
final class ChangeWaiter: Sendable {
    let waiter = AsyncWaiter<Topology.Snapshot?>()

    /// Resumes each of `waiters` with `result` (outside the topology's lock); with none, it
    /// touches no generic type (a pool closed without tasks waiting).
    static func resume(_ waiters: [ChangeWaiter], with result: @autoclosure () -> Result<Topology.Snapshot?, any Error>) {
        guard !waiters.isEmpty else { return }
        resumeAll(waiters, with: result())
    }

    @inline(never)
    private static func resumeAll(_ waiters: [ChangeWaiter], with result: Result<Topology.Snapshot?, any Error>) {
        for change in waiters { change.waiter.resume(result) }
    }
}
