import Dispatch
import Testing
@_spi(LoopPrimitives) @testable import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// A loop without a thread of its own: the caller of `run(until:_:)` is the loop thread while it
/// runs (the seam the single-threaded client needs).
@Suite struct CallersThreadLoopTests {
    @Test("timers and posted work run on the caller's thread, and run returns when the condition holds")
    func runsOnTheCallersThread() throws {
        let loop = try MonitorLoop(name: "unused", threading: .callersThread)
        defer { loop.shutdown() }
        let caller = pthread_self()
        let ran = ConditionLock<[String]>([])
        var fired = false
        // Work posted from another thread while the caller runs the loop.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) {
            loop.execute {
                precondition(loop.inLoop)
                ran.withLock { $0.append(pthread_equal(pthread_self(), caller) != 0 ? "posted on caller" : "posted elsewhere") }
            }
        }
        var timer: TimerWatcher?
        let start = MonotonicClock.nanoseconds()
        let held = loop.run(until: start + 5_000_000_000) {
            if timer == nil {
                timer = TimerWatcher(loop: loop) { fired = true }
                timer?.start(after: 0.1)
            }
            return fired && !ran.withLock { $0 }.isEmpty
        }
        #expect(held)
        #expect(ran.withLock { $0 } == ["posted on caller"])
        #expect(!loop.inLoop, "outside run, the caller is not the loop thread")
        let elapsedMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(elapsedMS >= 99 && elapsedMS < 4_000)
    }

    @Test("run ends at its deadline when the condition never holds")
    func runEndsAtTheDeadline() throws {
        let loop = try MonitorLoop(name: "unused", threading: .callersThread)
        defer { loop.shutdown() }
        let start = MonotonicClock.nanoseconds()
        let held = loop.run(until: start + 150_000_000) { false }
        let elapsedMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(!held)
        #expect(elapsedMS >= 149 && elapsedMS < 4_000, "returned after \(elapsedMS) ms for a 150 ms deadline")
    }

    @Test("shutdown runs the work posted before it and releases the loop")
    func shutdownDrainsAndReleases() throws {
        let loop = try MonitorLoop(name: "unused", threading: .callersThread)
        let ran = ConditionLock(false)
        loop.execute { ran.withLock { $0 = true } }
        loop.shutdown()
        #expect(ran.withLock { $0 })
        #expect(loop.isReleased)
        #expect(!loop.execute {}, "work after shutdown is refused")
    }
}
