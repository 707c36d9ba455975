import Benchmark
#if canImport(Glibc)
import Glibc
#endif

/// The benchmark thread's own CPU time (CLOCK_THREAD_CPUTIME_ID), recorded as a custom metric.
///
/// `cpuTotal` is sampled from the process's tick counters (10 ms resolution here), and wall
/// clock counts the time the thread waits for a core; on a small shared machine both blur
/// microsecond figures. The thread's CPU time is nanosecond-exact and leaves out waiting for a
/// core, so it is the steadier figure for single-threaded hot paths. (perf's `instructions`
/// counter would be better still, but virtual machines often have no PMU.)
let threadCPUTime = BenchmarkMetric.custom("Thread CPU time (ns)")

extension Benchmark {
    /// Runs `body` (the scaled loop) and records how much CPU time this thread spent in it.
    func recordingThreadCPUTime<T>(_ body: () throws -> T) rethrows -> T {
        let start = threadCPUNanoseconds()
        defer { measurement(threadCPUTime, threadCPUNanoseconds() - start) }
        return try body()
    }
}

private func threadCPUNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
