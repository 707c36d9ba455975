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

    /// Watchers and what they saw, for `priorityOrdersAReadyTurn`.
    final class ReadyTurn: @unchecked Sendable {
        // Safety: touched only on the loop, which is this test's thread while `run` runs.
        var order: [Int] = []
        var watchers: [IOWatcher] = []
    }

    @Test("of watchers ready in one turn, a higher priority's is invoked first; without, the last ready is")
    func priorityOrdersAReadyTurn() throws {
        let loop = try MonitorLoop(name: "unused", threading: .callersThread)
        defer { loop.shutdown() }
        for preferFirst in [false, true] {
            var pairs: [[Int32]] = []
            for _ in 0..<3 {
                var fds: [Int32] = [0, 0]
                #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
                pairs.append(fds)
            }
            defer { for fds in pairs { close(fds[0]); close(fds[1]) } }
            let turn = ReadyTurn()
            let readers = pairs.map { $0[0] }, writers = pairs.map { $0[1] }
            loop.execute {
                for (index, fd) in readers.enumerated() {
                    let watcher = IOWatcher(loop: loop, fd: fd, events: .read) { _ in turn.order.append(index) }
                    watcher.start()
                    if preferFirst, index == 0 { watcher.set(priority: 1) }
                    turn.watchers.append(watcher)
                }
                // All three readable before the loop next polls.
                for fd in writers { _ = send(fd, "x", 1, 0) }
            }
            _ = loop.run(until: MonotonicClock.nanoseconds() + 2_000_000_000) { turn.order.count >= 3 }
            loop.execute {
                for watcher in turn.watchers { watcher.stop() }
                turn.watchers.removeAll()
            }
            _ = loop.run(until: MonotonicClock.nanoseconds() + 2_000_000_000) { turn.watchers.isEmpty }
            #expect(turn.order.count >= 3)
            // libev invokes a turn's pending watchers of one priority in the reverse of the order
            // epoll reported them: here the order they became readable, 0, 1, 2.
            #expect(Array(turn.order.prefix(3)) == (preferFirst ? [0, 2, 1] : [2, 1, 0]))
        }
    }
}
