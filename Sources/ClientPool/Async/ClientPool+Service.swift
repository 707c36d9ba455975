import ServiceLifecycle

/// A pool is a swift-service-lifecycle `Service`: list it in a `ServiceGroup` before the
/// services that use it (a group shuts its services down in reverse order, so the pool
/// outlives them), and the group owns its lifetime.
///
/// The rule at shutdown:
/// - **Graceful shutdown** (the group's signal, or `triggerGracefulShutdown()`): the pool
///   drains. It hands out no client any more: tasks and threads waiting for one, and later
///   calls, fail at once with `ClientPoolError.poolClosed`; so does a selection that finds no
///   suitable server (it does not wait). Operations that already hold a client go on —
///   a selection that succeeds at once, a connection check-out, a command in flight — until
///   they push their client back. When the last client is back, the pool closes and `run()`
///   returns.
/// - **Cancellation** (the group's `maximumGracefulShutdownDuration` passed, or it was
///   cancelled): the pool closes at once: every wait fails with `.poolClosed` and commands in
///   flight are interrupted (their connections are shut down).
extension ClientPool: Service {
    public func run() async throws {
        do {
            try await gracefulShutdown()
            try await drain()
        } catch {
            // Cancelled, before or while draining: close at once.
        }
        await close()
    }
}
