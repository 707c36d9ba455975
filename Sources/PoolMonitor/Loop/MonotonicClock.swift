import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// Reads CLOCK_MONOTONIC. Deadlines, RTTs and heartbeat schedules use it, so a wall-clock jump
/// neither cuts nor stretches a wait (architecture rule 5). The pure core never calls it: the
/// loop and the pool read it and pass the time in.
@_spi(LoopPrimitives) public enum MonotonicClock {
    /// Nanoseconds since an arbitrary fixed point (boot).
    @inline(__always)
    public static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Milliseconds since the same fixed point: the unit of the SDAM core's `now` parameters.
    @inline(__always)
    public static func milliseconds() -> Int64 {
        Int64(nanoseconds() / 1_000_000)
    }
}
