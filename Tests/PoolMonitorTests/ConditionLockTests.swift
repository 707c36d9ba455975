import Dispatch
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct ConditionLockTests {
    @Test func waiterWakesOnBroadcast() {
        let lock = ConditionLock(0)
        let woke = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let value = lock.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { v in v == 7 ? v : nil }
            #expect(value == 7)
            woke.signal()
        }
        lock.withLock { $0 = 7 }
        lock.broadcast()
        #expect(woke.wait(timeout: .now() + 10) == .success)
    }

    @Test func timedWaitEndsAtTheMonotonicDeadline() {
        let lock = ConditionLock(false)
        let start = MonotonicClock.nanoseconds()
        let result: Bool? = lock.wait(until: start + 50_000_000) { v in v ? true : nil }
        let elapsedMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(result == nil)
        #expect(elapsedMS >= 49 && elapsedMS < 5_000, "waited \(elapsedMS) ms for a 50 ms deadline")
    }

    @Test func satisfiedConditionReturnsWithoutWaiting() {
        let lock = ConditionLock([1, 2, 3])
        #expect(lock.wait(until: 0) { $0.first } == 1)
    }
}
