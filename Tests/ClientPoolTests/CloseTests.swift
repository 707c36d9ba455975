import Testing
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite("closing the pool")
struct CloseTests {
    @Test("close fails threads waiting in pop with 'the client pool was closed'")
    func closeFailsPoppers() throws {
        let (pool, _) = Fixtures.pool { $0.maxPoolSize = 1 }
        _ = try pool.pop()
        let waiters = (0..<3).map { _ in Background { Result { () throws(ClientPoolError) in try pool.pop() } } }
        pool.close()
        for waiter in waiters {
            let outcome = try #require(waiter.wait(seconds: 5))
            #expect(throws: ClientPoolError.self) { try outcome.get() }
            if case .failure(let error) = outcome {
                #expect(error.isPoolClosed)
                #expect(error.description == "the client pool was closed")
            }
        }
    }

    @Test("close fails threads waiting in server selection at once")
    func closeFailsSelectors() throws {
        let (pool, monitor) = Fixtures.pool { $0.topology.serverSelectionTimeout = .milliseconds(30_000) }
        let client = try pool.pop()
        let selector = Background { Result { () throws(ClientPoolError) in try client.selectServer(for: .write) } }
        #expect(monitor.waitForRequests(1))
        let start = MonotonicClock.nanoseconds()
        pool.close()
        let outcome = try #require(selector.wait(seconds: 5))
        #expect(secondsSince(start) < 0.25)
        if case .failure(let error) = outcome { #expect(error.isPoolClosed) } else { Issue.record("selection succeeded after close") }
    }

    @Test("after close: pop throws, tryPop is nil, operations throw, close again does nothing")
    func everythingFailsAfterClose() throws {
        let (pool, _) = Fixtures.pool()
        let client = try pool.pop()
        pool.close()
        pool.close()
        #expect(pool.isClosed)
        #expect(pool.topology.isClosed)
        #expect(pool.tryPop() == nil)
        #expect { _ = try pool.pop() } throws: { ($0 as? ClientPoolError)?.isPoolClosed == true }
        #expect { _ = try client.runCommand(["ping": .int32(1)], database: "admin") } throws: {
            ($0 as? ClientPoolError)?.isPoolClosed == true
        }
        pool.push(client)
        #expect(pool.tryPop() == nil)
    }
}
