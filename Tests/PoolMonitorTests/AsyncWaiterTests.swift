import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The async face's waiting pieces on their own: a waiter resumes exactly once, deadlines fire
/// in order and never early, the waiter queue keeps arrival order through withdrawals.
@Suite struct AsyncWaiterTests {
    @Test func theFirstResumeWinsAndLaterOnesDoNothing() async throws {
        let waiter = AsyncWaiter<Int>()
        #expect(waiter.resume(.success(1)))
        #expect(!waiter.resume(.success(2)))
        #expect(!waiter.resume(.failure(CancellationError())))
        #expect(try await waiter.value(withdraw: {}) == 1)
    }

    @Test func cancellationResumesOnceAndWithdrawsOnce() async throws {
        let waiter = AsyncWaiter<Int>()
        let withdrawals = ConditionLock(0)
        let task = Task { try await waiter.value(withdraw: { withdrawals.withLock { $0 += 1 } }) }
        try await Task.sleep(for: .milliseconds(20))  // the task suspends in the meantime
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(withdrawals.withLock { $0 } == 1)
        #expect(!waiter.resume(.success(3)), "the owner's late hand-over loses and must take its resource back")
    }

    @Test func deadlinesFireInOrderNeverEarlyAndCancelledOnesNot() throws {
        let loop = try MonitorLoop(name: "deadline-test")
        defer { loop.shutdown() }
        let deadlines = LoopDeadlines(loop: loop)
        let fired = ConditionLock<[(index: Int, due: UInt64, at: UInt64)]>([])
        let start = MonotonicClock.nanoseconds()
        var generator = SplitMix64(seed: 15)
        var tokens: [LoopDeadlines.Token] = []
        for index in 0..<1_000 {
            let due = start + 20_000_000 + UInt64.random(in: 0..<200_000_000, using: &generator)
            tokens.append(deadlines.schedule(at: due) {
                fired.withLock { $0.append((index, due, MonotonicClock.nanoseconds())) }
                fired.broadcast()
            })
        }
        for index in stride(from: 1, to: 1_000, by: 2) { deadlines.cancel(tokens[index]) }
        let all = fired.wait(until: start + 5_000_000_000) { $0.count >= 500 ? $0 : nil }
        let entries = try #require(all)
        #expect(entries.allSatisfy { $0.index % 2 == 0 }, "a cancelled deadline fired")
        #expect(entries.allSatisfy { $0.at >= $0.due }, "a deadline fired early")
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.due <= $1.due }, "deadlines fired out of order")
        #expect(deadlines.pendingCount == 0)
        deadlines.close()
    }

    @Test func theQueueKeepsArrivalOrderThroughWithdrawals() {
        var queue = WaiterQueue<Int>()
        let waiters = (0..<3_000).map { _ in AsyncWaiter<Int>() }
        let ids = waiters.map { queue.append($0) }
        for index in stride(from: 0, to: 3_000, by: 3) { queue.remove(ids[index]) }
        #expect(queue.count == 2_000)
        var order: [Int] = []
        while let next = queue.popFirst() { order.append(waiters.firstIndex { $0 === next }!) }
        #expect(order == (0..<3_000).filter { $0 % 3 != 0 })
        #expect(queue.isEmpty)
    }
}
