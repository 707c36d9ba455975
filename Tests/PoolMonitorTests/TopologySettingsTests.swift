import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The spec's Initial TopologyType table and allowed configuration combinations.
@Suite struct TopologySettingsTests {
    typealias F = SDAMFixtures

    @Test func initialTopologyType() {
        let a = [F.address("a")]
        #expect(TopologySettings(seeds: a).initialTopologyType == .unknown)
        #expect(TopologySettings(seeds: a, directConnection: false).initialTopologyType == .unknown)
        #expect(TopologySettings(seeds: a, replicaSet: "rs").initialTopologyType == .replicaSetNoPrimary)
        #expect(TopologySettings(seeds: a, replicaSet: "rs", directConnection: true).initialTopologyType == .single)
        #expect(TopologySettings(seeds: a, directConnection: true).initialTopologyType == .single)
        #expect(TopologySettings(seeds: a, loadBalanced: true).initialTopologyType == .loadBalanced)
        let initial = TopologyDescription(settings: TopologySettings(seeds: [F.address("A:1")], replicaSet: "rs"))
        #expect(initial.setName == "rs" && initial.servers.keys.first == F.address("a:1"))
    }

    @Test func forbiddenCombinationsThrow() {
        let two = [F.address("a"), F.address("b")]
        #expect(throws: TopologySettingsError.self) { try TopologySettings(seeds: two, directConnection: true).validate() }
        #expect(throws: TopologySettingsError.self) { try TopologySettings(seeds: [F.address("a")], replicaSet: "rs", loadBalanced: true).validate() }
        #expect(throws: TopologySettingsError.self) { try TopologySettings(seeds: [F.address("a")], heartbeatFrequencyMS: 499).validate() }
        #expect(throws: TopologySettingsError.self) { try TopologySettings(seeds: []).validate() }
        #expect(throws: Never.self) { try TopologySettings(seeds: two, replicaSet: "rs").validate() }
    }
}
