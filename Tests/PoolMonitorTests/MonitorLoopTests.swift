import Foundation
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The loop thread: posted work runs there in order; timers and I/O watchers fire there;
/// shutdown joins the thread and leaves no descriptor or thread behind.
@Suite(.serialized) struct MonitorLoopTests {
    @Test func postedWorkRunsOnTheLoopThreadInOrder() throws {
        let loop = try MonitorLoop(name: "test-order")
        defer { loop.shutdown() }
        let seen = ConditionLock<[Int]>([])
        let done = DispatchSemaphore(value: 0)
        for i in 0..<1000 {
            loop.execute {
                precondition(loop.inLoop)
                seen.withLock { $0.append(i) }
                if i == 999 { done.signal() }
            }
        }
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(seen.withLock { $0 } == Array(0..<1000))
        #expect(!loop.inLoop)
    }

    @Test func workFromManyThreadsAllRuns() throws {
        let loop = try MonitorLoop(name: "test-many")
        defer { loop.shutdown() }
        let count = ConditionLock(0)
        let group = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<500 {
                group.enter()
                loop.execute {
                    count.withLock { $0 += 1 }
                    group.leave()
                }
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(count.withLock { $0 } == 4000)
    }

    @Test func timerFiresAfterItsDelay() throws {
        let loop = try MonitorLoop(name: "test-timer")
        defer { loop.shutdown() }
        let fired = DispatchSemaphore(value: 0)
        let start = MonotonicClock.nanoseconds()
        let holder = ConditionLock<LoopBound<TimerWatcher?>?>(nil)
        loop.execute {
            let bound = LoopBound<TimerWatcher?>(nil, loop: loop)
            let timer = TimerWatcher(loop: loop) { fired.signal() }
            timer.start(after: 0.05)
            bound.value = timer
            holder.withLock { $0 = bound }
        }
        #expect(fired.wait(timeout: .now() + 10) == .success)
        let elapsedMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(elapsedMS >= 45, "timer fired after \(elapsedMS) ms, expected about 50")
        let bound = holder.withLock { $0 }
        loop.execute { bound?.value = nil }
    }

    /// libev measures a delay from its cached loop time, as old as the loop iteration: a timer
    /// for an instant, armed after a callback kept the loop busy, must still fire at or after
    /// that instant, not as much earlier as the callback took (a monitor would find its check
    /// not due and arm again).
    @Test func timerForAnInstantFiresNoEarlierAfterABusyCallback() throws {
        let loop = try MonitorLoop(name: "test-timer-at")
        defer { loop.shutdown() }
        let firedAt = ConditionLock<UInt64?>(nil)
        let holder = ConditionLock<LoopBound<TimerWatcher?>?>(nil)
        let instant = ConditionLock<UInt64>(0)
        loop.execute {
            // Busy for 40 ms in one callback: the loop's time stays where it woke.
            let busyUntil = MonotonicClock.nanoseconds() + 40_000_000
            while MonotonicClock.nanoseconds() < busyUntil {}
            let timer = TimerWatcher(loop: loop) {
                firedAt.withLock { $0 = MonotonicClock.nanoseconds() }
                firedAt.broadcast()
            }
            let at = MonotonicClock.nanoseconds() + 20_000_000
            instant.withLock { $0 = at }
            timer.start(at: at)
            let bound = LoopBound<TimerWatcher?>(timer, loop: loop)
            holder.withLock { $0 = bound }
        }
        let fired = firedAt.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0 }
        #expect(fired != nil, "the timer never fired")
        let at = instant.withLock { $0 }
        if let fired {
            #expect(fired >= at, "fired \(Double(at - min(at, fired)) / 1e6) ms before its instant")
        }
        let bound = holder.withLock { $0 }
        loop.execute { bound?.value = nil }
    }

    @Test func ioWatcherSeesReadableSocket() throws {
        var fds: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let loop = try MonitorLoop(name: "test-io")
        defer { loop.shutdown() }
        let readable = DispatchSemaphore(value: 0)
        let holder = ConditionLock<LoopBound<IOWatcher?>?>(nil)
        let fd = fds[0]
        loop.execute {
            let watcher = IOWatcher(loop: loop, fd: fd, events: .read) { events in
                if events.contains(.read) { readable.signal() }
            }
            watcher.start()
            holder.withLock { $0 = LoopBound(watcher, loop: loop) }
        }
        var byte: UInt8 = 42
        #expect(write(fds[1], &byte, 1) == 1)
        #expect(readable.wait(timeout: .now() + 10) == .success)
        let bound = holder.withLock { $0 }
        let stopped = DispatchSemaphore(value: 0)
        loop.execute {
            bound?.value?.stop()
            bound?.value = nil
            stopped.signal()
        }
        #expect(stopped.wait(timeout: .now() + 10) == .success)
    }

    /// Process-wide descriptor counts move with the suites running in parallel, so this checks
    /// this loop's own resources: its named thread, and libev's loop (epoll and eventfd)
    /// released by shutdown itself, not left to deinit.
    @Test func shutdownJoinsTheThreadAndReleasesDescriptors() throws {
        for _ in 0..<20 {
            let loop = try MonitorLoop(name: "test-shutdown")
            loop.execute {}
            loop.shutdown()
            loop.shutdown()  // idempotent
            #expect(loop.isReleased)
            #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "test-shutdown") }, to: 0) == 0)
            #expect(loop.execute {} == false, "work after shutdown is refused")
        }
    }
}
