import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// SDAM: the handshake of an application connection SHOULD update the server's description.
@Suite struct ApplicationHandshakeTests {
    @Test("a new application connection's hello reply updates the server's description, keeping the monitor's RTT")
    func handshakeUpdatesTheDescription() throws {
        // The server answers handshakes as wire version 25 (8.0); the topology last saw 21.
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello(maxWireVersion: 25)) { _ in ["ok": .double(1)] }
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(seeds: [server.address], replicaSet: nil, directConnection: true)
        defer { pool.close() }
        pool.topology.apply(ServerDescription(
            address: server.address, hello: FakeMongoServer.standaloneHello(maxWireVersion: 21), roundTripTimeMS: 7,
            now: MonotonicClock.milliseconds()))
        #expect(pool.topology.description.servers[server.address]?.maxWireVersion == 21)
        _ = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") }
        let after = try #require(pool.topology.description.servers[server.address])
        #expect(after.maxWireVersion == 25, "the handshake's reply reached the topology")
        #expect(after.roundTripTimeMS == 7, "a handshake's duration is no RTT sample")
    }
}
