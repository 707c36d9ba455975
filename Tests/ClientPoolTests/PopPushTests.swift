import Dispatch
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite("pop and push")
struct PopPushTests {
    @Test("many threads popping and pushing never hold more than maxPoolSize clients")
    func manyThreadsRespectMaxPoolSize() {
        let (pool, _) = Fixtures.pool { $0.maxPoolSize = 4 }
        defer { pool.close() }
        let inUse = Atomic<Int>(0)
        let maxInUse = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            for _ in 0..<200 {
                guard let client = try? pool.pop() else {
                    failures.add(1, ordering: .relaxed)
                    continue
                }
                let now = inUse.add(1, ordering: .relaxed).newValue
                maxInUse.max(now, ordering: .relaxed)
                inUse.subtract(1, ordering: .relaxed)
                pool.push(client)
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(maxInUse.load(ordering: .relaxed) <= 4)
        #expect(maxInUse.load(ordering: .relaxed) >= 1)
        #expect(pool.clientCount <= 4)
    }

    @Test("tryPop hands out up to maxPoolSize clients, then nil until one is pushed back")
    func tryPopStopsAtMaxPoolSize() throws {
        let (pool, _) = Fixtures.pool { $0.maxPoolSize = 2 }
        defer { pool.close() }
        let first = try #require(pool.tryPop())
        let second = try #require(pool.tryPop())
        #expect(first !== second)
        #expect(pool.tryPop() == nil)
        pool.push(second)
        #expect(pool.tryPop() === second)
        #expect(pool.clientCount == 2)
    }

    @Test("pushing a client twice, or a client of another pool, does not add a client")
    func duplicateAndForeignPushesAreIgnored() throws {
        let (pool, _) = Fixtures.pool { $0.maxPoolSize = 1 }
        let (other, _) = Fixtures.pool { $0.maxPoolSize = 1 }
        defer { pool.close(); other.close() }
        let client = try pool.pop()
        pool.push(client)
        pool.push(client)
        pool.push(try other.pop())
        #expect(pool.tryPop() === client)
        #expect(pool.tryPop() == nil)
    }

    @Test("a waiting pop gets the client pushed back by another thread")
    func waitingPopGetsPushedClient() throws {
        let (pool, _) = Fixtures.pool { $0.maxPoolSize = 1 }
        defer { pool.close() }
        let held = try pool.pop()
        let waiter = Background { Result { () throws(ClientPoolError) in try pool.pop() } }
        #expect(!waiter.isFinished)
        pool.push(held)
        let got = try #require(waiter.wait())
        #expect(try got.get() === held)
    }

    @Test("waitQueueTimeoutMS is one deadline: wake-ups that find no free client do not extend it")
    func waitQueueTimeoutIsOneDeadline() throws {
        let (pool, _) = Fixtures.pool {
            $0.maxPoolSize = 1
            $0.waitQueueTimeout = .milliseconds(300)
        }
        defer { pool.close() }
        let held = try pool.pop()
        let stop = Atomic<Bool>(false)
        // Spurious wake-ups every few milliseconds, as a busy pool's pushes would cause.
        let waker = Background { () -> Bool in
            while !stop.load(ordering: .relaxed) {
                pool.notifyWaiters()
                usleep(2_000) // pacing the wake-ups, not waiting for an outcome
            }
            return true
        }
        let start = MonotonicClock.nanoseconds()
        #expect {
            _ = try pool.pop()
        } throws: { error in
            guard case ClientPoolError.waitQueueTimeout(300, 1) = error else { return false }
            return "\(error)".contains("waitQueueTimeoutMS 300") && "\(error)".contains("maxPoolSize")
        }
        let elapsed = secondsSince(start)
        stop.store(true, ordering: .relaxed)
        _ = waker.wait()
        #expect(elapsed >= 0.3)
        #expect(elapsed < 1.0)
        pool.push(held)
    }
}
