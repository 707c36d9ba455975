import Testing
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The driver's own worker threads for blocking work: bounded, FIFO, independent of Dispatch.
@Suite struct WorkerThreadsTests {
    @Test("at most `count` jobs run at once on threads of the given name; every job runs")
    func boundedAndComplete() {
        let workers = WorkerThreads(count: 3, name: "wt-test")
        let state = ConditionLock((running: 0, peak: 0, done: 0, open: false))
        for _ in 0..<12 {
            workers.submit {
                state.withLock { s in
                    s.running += 1
                    s.peak = max(s.peak, s.running)
                }
                _ = state.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0.open ? true : nil }
                state.withLock { s in
                    s.running -= 1
                    s.done += 1
                }
                state.broadcast()
            }
        }
        _ = state.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0.running == 3 ? true : nil }
        #expect(state.withLock { $0.running } == 3, "three jobs block, the rest wait their turn")
        #expect(ResourceCounts.threads(named: "wt-test") == 3)
        state.withLock { $0.open = true }
        state.broadcast()
        let done = state.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0.done == 12 ? $0.done : nil }
        #expect(done == 12)
        #expect(state.withLock { $0.peak } == 3)
    }
}
