import Testing
import TestSupport
@_spi(LoopPrimitives) @testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// A server's connection pool serving tasks: a continuation is one more requester in the CMAP
/// queue, served in order with threads, timed out by the loop's deadlines, and withdrawn at
/// once when its task is cancelled (a connection handed to it in the race goes back).
@Suite struct AsyncCheckOutTests {
    final class Mock: PoolableConnection {
        func interrupt() {}
        func close() {}
    }

    typealias Pool = ServerConnectionPool<Mock>

    /// A ready pool of at most one mock connection, its events, and an operations loop for its
    /// waits (closed after `body`).
    static func withPool(_ body: (Pool, ConditionLock<[ConnectionPoolEvent]>, OperationsLoop) async throws -> Void) async throws {
        let io = try OperationsLoop(placement: .dedicated, monitorLoop: nil)
        defer { io.close() }
        let events = ConditionLock<[ConnectionPoolEvent]>([])
        let pool = Pool(
            address: ServerAddress(host: "async.test", port: 27017), options: ConnectionPoolOptions(maxPoolSize: 1),
            establish: { _, _ in Mock() }, establishAsync: { _, _, _ in Mock() },
            publish: { new in events.withLock { $0 += new } }, background: { $0() })
        pool.ready()
        try await body(pool, events, io)
    }

    @Test func aWaitingTaskIsServedWhenTheConnectionComesBack() async throws {
        try await Self.withPool { pool, _, io in
            let held = try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines)
            let waiting = Task { try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines) }
            #expect(await eventually { pool.waitingTaskCount == 1 })
            pool.checkIn(held, perished: false)
            let served = try await waiting.value
            #expect(served.connectionID == held.connectionID, "the connection went to the waiting task")
            #expect(pool.waitingTaskCount == 0)
            pool.checkIn(served, perished: false)
        }
    }

    @Test func aCancelledTaskLeavesTheQueueAtOnceWithTheReasonCancelled() async throws {
        try await Self.withPool { pool, events, io in
            let held = try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines)
            let waiting = Task { try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines) }
            #expect(await eventually { pool.waitingTaskCount == 1 })
            waiting.cancel()
            #expect(pool.waitingTaskCount == 0 && pool.counts.waiting == 0, "cancel() withdrew the request")
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(events.withLock { $0 }.contains { if case .connectionCheckOutFailed(_, .cancelled, _) = $0 { true } else { false } })
            // The connection is still there for the next one.
            pool.checkIn(held, perished: false)
            let next = try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines)
            #expect(next.connectionID == held.connectionID)
            pool.checkIn(next, perished: false)
        }
    }

    @Test func aWaitingTaskTimesOutOnTheLoopsDeadline() async throws {
        try await Self.withPool { pool, _, io in
            let held = try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines)
            let start = MonotonicClock.nanoseconds()
            do {
                _ = try await pool.checkOut(deadline: start + 150_000_000, readiness: io.readiness, timers: io.deadlines)
                Issue.record("a check-out succeeded while the only connection was in use")
            } catch let failure as Pool.CheckOutFailure {
                guard case .timeout = failure else { Issue.record("expected a timeout, got \(failure)"); return }
            }
            let ms = Double(MonotonicClock.nanoseconds() - start) / 1e6
            // Never early; the upper bound guards a hang (the task may wait for a cooperative
            // thread while other suites' blocking tests hold them).
            #expect(ms >= 150 && ms < 60_000, "timed out after \(ms) ms for 150")
            #expect(pool.waitingTaskCount == 0 && pool.counts.waiting == 0)
            pool.checkIn(held, perished: false)
        }
    }

    @Test func threadsAndTasksShareOneQueue() async throws {
        try await Self.withPool { pool, _, io in
            let held = try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines)
            let thread = AsyncWaiter<Int>()
            WorkerThreads.runDetached(name: "checkout-thread") {
                thread.resume(Result { () throws(Pool.CheckOutFailure) -> Int in
                    let got = try pool.checkOut(deadline: MonotonicClock.nanoseconds() + 300_000_000_000)
                    pool.checkIn(got, perished: false)
                    return got.connectionID
                }.mapError { $0 })
            }
            #expect(await eventually { pool.counts.waiting == 1 })
            let task = Task { try await pool.checkOut(deadline: nil, readiness: io.readiness, timers: io.deadlines) }
            #expect(await eventually { pool.counts.waiting == 2 })
            pool.checkIn(held, perished: false)
            // The thread came first: it is served first, then gives the connection to the task.
            #expect(try await thread.value(withdraw: {}) == held.connectionID)
            let served = try await task.value
            #expect(served.connectionID == held.connectionID)
            pool.checkIn(served, perished: false)
        }
    }
}
