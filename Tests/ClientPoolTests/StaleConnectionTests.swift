import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Connections carry their server's pool generation; a cleared pool makes them stale.
@Suite("stale connections")
struct StaleConnectionTests {
    @Test("a connection made before the server's pool was cleared is closed, not reused")
    func staleConnectionIsReplaced() throws {
        let replies = ConditionLock(0)
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in
            // The first command meets a shutting-down node (91 clears the pool); the rest succeed.
            let count = replies.withLock { n -> Int in
                n += 1
                return n
            }
            if count == 1 {
                return ["ok": .double(0), "code": .int32(91), "codeName": .string("ShutdownInProgress"), "errmsg": .string("shutting down")]
            }
            return ScriptedServer.ok
        }
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server)
        defer { pool.close() }
        let client = try pool.pop()
        #expect(throws: ClientPoolError.self) { _ = try client.runCommand(["ping": .int32(1)], database: "admin") }
        #expect(pool.topology.poolGeneration(for: server.address) == 1)
        #expect(server.connections == 1)
        // The monitor would find the server again; the old connection is from generation 0.
        Fixtures.markPrimary(server, in: pool)
        _ = try client.runCommand(["ping": .int32(1)], database: "admin")
        #expect(server.connections == 2)
        #expect(pool.openConnectionCount == 1)
        // Generation 1 connections are current: reused.
        _ = try client.runCommand(["ping": .int32(1)], database: "admin")
        #expect(server.connections == 2)
    }
}
