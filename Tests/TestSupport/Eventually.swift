@_spi(LoopPrimitives) import PoolMonitor

/// Polls a condition from a task every 2 ms until it holds or `seconds` pass. Tasks may wait
/// long for a cooperative thread while other suites' blocking tests hold them, so callers give
/// conditions that tasks must reach a generous bound.
public func eventually(seconds: Double = 30, _ condition: @Sendable () -> Bool) async -> Bool {
    let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    while MonotonicClock.nanoseconds() < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return condition()
}
