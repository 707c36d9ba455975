import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// Where the async face's connections wait for their sockets and its waiters for their
/// deadlines.
@_spi(LoopPrimitives) public enum OperationsLoopPlacement: Sendable, Equatable {
    /// A libev loop of the pool's own, on a second thread started at the first async call, so
    /// that a flood of operations cannot delay the monitor's timers (the default).
    case dedicated
    /// The monitor's loop (no second thread; kept to measure what it costs the monitor).
    case monitor
}

/// The async face's event loop: readiness of application sockets (`LoopReadiness`) and the
/// deadlines of waiting tasks (`LoopDeadlines`), on one libev loop. The tasks do their own
/// non-blocking reads and writes and their BSON work; the loop only tells them when to.
final class OperationsLoop: Sendable {
    let readiness: LoopReadiness
    let deadlines: LoopDeadlines
    /// Set when the loop is the pool's own (its thread is joined on close).
    private let ownLoop: MonitorLoop?

    init(placement: OperationsLoopPlacement, monitorLoop: MonitorLoop?) throws(ClientPoolError) {
        let loop: MonitorLoop
        if placement == .monitor, let monitorLoop {
            loop = monitorLoop
            ownLoop = nil
        } else {
            do {
                loop = try MonitorLoop(name: "sdam-ops")
            } catch {
                throw .monitorStartFailed("the operations loop: \(error)")
            }
            ownLoop = loop
        }
        readiness = LoopReadiness(loop: loop)
        deadlines = LoopDeadlines(loop: loop)
    }

    /// Whether the pool's own loop has stopped and released its descriptors (true when it
    /// shares the monitor's loop).
    var isReleased: Bool { ownLoop?.isReleased ?? true }

    /// Ends every wait (sockets: `.closed`; deadlines dropped), then stops the loop if it is
    /// the pool's own and joins its thread. Blocks for that join: call it off the cooperative
    /// pool.
    func close() {
        readiness.close()
        deadlines.close()
        ownLoop?.shutdown()
    }
}
