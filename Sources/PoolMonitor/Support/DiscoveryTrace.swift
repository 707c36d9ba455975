import Synchronization
import SDAMCore

/// Timestamps of the steps between `ClientPool(uri:)` and a known deployment — thread start,
/// loop start, connect, write, reply, decode, apply, broadcast — for the benchmark that keeps
/// discovery's timeline (`SDAMScenarios subject discovery-timeline`, issue 17).
///
/// Off unless a benchmark turns it on: then each step costs one relaxed atomic load. On, a
/// step takes a lock and appends to a buffer of at most `capacity` marks (later ones are
/// dropped and counted), so a trace left on cannot grow without bound.
@_spi(LoopPrimitives) public enum DiscoveryTrace {
    /// One step: when (MonotonicClock nanoseconds), what, and for which server if one.
    public struct Mark: Sendable {
        public var nanoseconds: UInt64
        public var step: StaticString
        public var server: ServerAddress?
    }

    public static let capacity = 4096

    private static let enabled = Atomic<Bool>(false)
    private static let recorded = ConditionLock<(marks: [Mark], dropped: Int)>(([], 0))

    /// Clears what was recorded and starts recording.
    public static func start() {
        recorded.withLock { $0 = ([], 0) }
        enabled.store(true, ordering: .releasing)
    }

    /// Stops recording and returns the marks, in the order they were recorded, and how many
    /// did not fit.
    public static func stop() -> (marks: [Mark], dropped: Int) {
        enabled.store(false, ordering: .releasing)
        return recorded.withLock { $0 }
    }

    /// Records `step` (for `server`) now, when recording.
    @inline(__always)
    package static func mark(_ step: StaticString, _ server: ServerAddress? = nil) {
        guard enabled.load(ordering: .relaxed) else { return }
        record(step, server)
    }

    /// The clock is read under the lock, so that marks from several threads are recorded in
    /// the order of their times.
    private static func record(_ step: StaticString, _ server: ServerAddress?) {
        recorded.withLock { r in
            if r.marks.count < capacity {
                r.marks.append(Mark(nanoseconds: MonotonicClock.nanoseconds(), step: step, server: server))
            } else {
                r.dropped += 1
            }
        }
    }
}
