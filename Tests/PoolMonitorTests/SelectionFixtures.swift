@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Builders for the selection tests: servers and topologies written as the spec tests write
/// them ("a:27017", type, RTT, tags).
enum SelectionFixtures {
    static func address(_ text: String) -> ServerAddress {
        ServerAddress(text) ?? ServerAddress(host: "invalid")
    }

    static func server(
        _ address: String,
        _ type: ServerType,
        rtt: Double? = 5,
        tags: [String: String] = [:],
        lastUpdate: Int64 = 0,
        lastWrite: Int64? = nil,
        maxWireVersion: Int = 21,
        error: String? = nil
    ) -> ServerDescription {
        var server = ServerDescription(address: Self.address(address))
        server.type = type
        server.roundTripTimeMS = rtt
        server.tags = tags
        server.lastUpdateTimeMS = lastUpdate
        server.lastWriteDateMS = lastWrite
        server.maxWireVersion = maxWireVersion
        server.error = error
        return server
    }

    static func topology(_ type: TopologyType, _ servers: [ServerDescription]) -> TopologyDescription {
        var topology = TopologyDescription(type: type)
        for server in servers { topology.servers[server.address] = server }
        return topology
    }

    /// A primary "p:27017" and secondaries "s1", "s2" tagged dc ny / sf, all 5 ms.
    static var replicaSet: TopologyDescription {
        topology(.replicaSetWithPrimary, [
            server("p:27017", .rsPrimary, tags: ["dc": "ny"]),
            server("s1:27017", .rsSecondary, tags: ["dc": "ny", "rack": "1"]),
            server("s2:27017", .rsSecondary, tags: ["dc": "sf"]),
            server("arb:27017", .rsArbiter),
        ])
    }

    static func suitable(
        _ operation: ServerSelectionOperation,
        in topology: TopologyDescription,
        selector: ServerSelector = ServerSelector(),
        deprioritized: Set<ServerAddress> = []
    ) throws -> [String] {
        try selector.suitableServers(for: operation, in: topology, deprioritized: deprioritized)
            .suitable.map(\.address.description)
    }

    static func window(
        _ operation: ServerSelectionOperation,
        in topology: TopologyDescription,
        selector: ServerSelector = ServerSelector()
    ) throws -> [String] {
        try selector.suitableServers(for: operation, in: topology).inLatencyWindow.map(\.address.description)
    }
}
