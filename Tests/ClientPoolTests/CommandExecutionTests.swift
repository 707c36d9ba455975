import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// runCommand against a fake server: the handshake, `$db`, `$readPreference`, connection reuse.
@Suite("running commands")
struct CommandExecutionTests {
    @Test("a command runs over the client's own connection, with $db, and the connection is reused")
    func commandRoundTrip() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in ["ok": .double(1), "n": .int32(7)] }
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server) { $0.monitoring.appName = "pool-tests" }
        defer { pool.close() }
        let client = try pool.pop()
        let reply = try client.runCommand(["ping": .int32(1)], database: "admin")
        _ = try client.runWriteCommand(["insert": .string("things"), "documents": .array([.document(["x": .int32(1)])])], database: "test")
        #expect(reply["n"] == .int32(7))
        #expect(server.connections == 1)
        #expect(pool.openConnectionCount == 1)
        let commands = server.commands
        #expect(commands.count == 2)
        #expect(commands.first?["$db"] == .string("admin"))
        #expect(commands.last?["$db"] == .string("test"))
        // Mode primary in a replica set: no $readPreference.
        #expect(commands.allSatisfy { $0["$readPreference"] == nil })
    }

    @Test("a secondary read in a replica set carries $readPreference with mode, tags and maxStalenessSeconds")
    func secondaryReadCarriesReadPreference() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in ScriptedServer.ok }
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server)
        defer { pool.close() }
        let client = try pool.pop()
        let readPreference = ReadPreference(mode: .nearest, tagSets: [["dc": "ny"], [:]], maxStalenessSeconds: 120)
        _ = try client.runCommand(["find": .string("things")], database: "test", readPreference: readPreference)
        let sent = try #require(server.commands.first?["$readPreference"]?.documentValue)
        #expect(sent == ["mode": .string("nearest"), "tags": .array([.document(["dc": .string("ny")]), .document([:])]),
                         "maxStalenessSeconds": .int64(120)])
    }

    @Test("connectTimeoutMS bounds the connection to a server that accepts but never answers the handshake")
    func handshakeTimeout() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let address = ServerAddress(host: "127.0.0.1", port: listener.port)
        // No overload retries here (they are OverloadRetryTests'): the bound is one attempt's.
        let (silentPool, _) = Fixtures.pool(seeds: [address], replicaSet: nil, directConnection: true) {
            $0.monitoring.connectTimeout = .milliseconds(200)
            $0.overloadRetry = OverloadRetryPolicy(maxAttempts: 0)
        }
        defer { silentPool.close() }
        silentPool.topology.apply(ServerDescription(
            address: address, hello: FakeMongoServer.standaloneHello(),
            roundTripTimeMS: 1, now: MonotonicClock.milliseconds()
        ))
        let client = try silentPool.pop()
        let start = MonotonicClock.nanoseconds()
        #expect {
            _ = try client.runCommand(["ping": .int32(1)], database: "admin")
        } throws: { error in
            guard case ClientPoolError.network(let failure) = error else { return false }
            return failure.timedOut && failure.duringHandshake && failure.server == address
                && failure.errorLabels == ["SystemOverloadedError", "RetryableError"]
        }
        #expect(secondsSince(start) < 2)
        // Backpressure: a failed connection attempt leaves the server as it was.
        #expect(silentPool.topology.description.servers[address]?.type == .standalone)
    }
}
