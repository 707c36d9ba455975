@_spi(LoopPrimitives) import PoolMonitor

/// Polls a condition from a task every 2 ms until it holds or `seconds` pass.
///
/// Swift Testing runs synchronous tests on the cooperative pool too: while other suites'
/// blocking tests hold its threads, a task may wait tens of seconds to run again (seen: 30 s on
/// two cores). So the bound here is a hang guard, not a latency figure; latency is measured
/// where nothing else runs (AsyncWaitTests' child process, the benchmarks).
public func eventually(seconds: Double = 120, _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    while MonotonicClock.nanoseconds() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}
