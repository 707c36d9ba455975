import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Which servers are suitable, by topology type, operation and read preference mode.
@Suite struct ServerSelectionTests {
    typealias F = SelectionFixtures

    @Test func primaryModeTakesOnlyThePrimary() throws {
        #expect(try F.suitable(.read(.primary), in: F.replicaSet) == ["p:27017"])
    }

    @Test func secondaryModeTakesOnlySecondaries() throws {
        #expect(try F.suitable(.read(.secondary), in: F.replicaSet) == ["s1:27017", "s2:27017"])
    }

    @Test func nearestTakesPrimaryAndSecondariesButNotArbiters() throws {
        #expect(try F.suitable(.read(.nearest), in: F.replicaSet) == ["p:27017", "s1:27017", "s2:27017"])
    }

    @Test func primaryPreferredTakesThePrimaryWhenKnown() throws {
        #expect(try F.suitable(.read(.primaryPreferred), in: F.replicaSet) == ["p:27017"])
    }

    @Test func primaryPreferredFallsBackToSecondaries() throws {
        var topology = F.replicaSet
        topology.type = .replicaSetNoPrimary
        topology.servers[F.address("p:27017")] = F.server("p:27017", .unknown)
        #expect(try F.suitable(.read(.primaryPreferred), in: topology) == ["s1:27017", "s2:27017"])
    }

    @Test func secondaryPreferredTakesSecondariesFirst() throws {
        #expect(try F.suitable(.read(.secondaryPreferred), in: F.replicaSet) == ["s1:27017", "s2:27017"])
    }

    @Test func secondaryPreferredFallsBackToThePrimaryIgnoringItsTags() throws {
        let readPreference = ReadPreference(mode: .secondaryPreferred, tagSets: [["dc": "tokyo"]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == ["p:27017"])
    }

    @Test func replicaSetWritesGoOnlyToThePrimary() throws {
        #expect(try F.suitable(.write, in: F.replicaSet) == ["p:27017"])
        var noPrimary = F.replicaSet
        noPrimary.type = .replicaSetNoPrimary
        noPrimary.servers[F.address("p:27017")] = nil
        #expect(try F.suitable(.write, in: noPrimary) == [])
    }

    @Test func unknownTopologyHasNothingSuitable() throws {
        let topology = F.topology(.unknown, [F.server("a:27017", .rsGhost), F.server("b:27017", .standalone)])
        #expect(try F.suitable(.read(.nearest), in: topology) == [])
        #expect(try F.suitable(.write, in: topology) == [])
    }

    @Test(arguments: ServerType.allCases)
    func singleTopologyIgnoresReadPreferenceAndTakesAnyAvailableServer(_ type: ServerType) throws {
        let topology = F.topology(.single, [F.server("a:27017", type)])
        let expected = type == .unknown || type == .possiblePrimary ? [] : ["a:27017"]
        #expect(try F.suitable(.read(.secondary), in: topology) == expected)
        #expect(try F.suitable(.write, in: topology) == expected)
    }

    @Test func shardedTakesEveryMongosWhateverTheReadPreference() throws {
        let topology = F.topology(.sharded, [
            F.server("m1:27017", .mongos), F.server("m2:27017", .mongos), F.server("u:27017", .unknown),
        ])
        let tagged = ReadPreference(mode: .secondary, tagSets: [["dc": "nowhere"]], maxStalenessSeconds: 1)
        #expect(try F.suitable(.read(tagged), in: topology) == ["m1:27017", "m2:27017"])
        #expect(try F.suitable(.write, in: topology) == ["m1:27017", "m2:27017"])
    }

    @Test func loadBalancedTakesTheLoadBalancer() throws {
        let topology = F.topology(.loadBalanced, [F.server("lb:27017", .loadBalancer, rtt: nil)])
        #expect(try F.suitable(.read(.secondary), in: topology) == ["lb:27017"])
        #expect(try F.window(.write, in: topology) == ["lb:27017"])
    }

    @Test func incompatibleTopologyIsAnError() {
        var topology = F.replicaSet
        topology.compatibilityError = "server p:27017 requires wire version 99"
        #expect(throws: ServerSelectionError.incompatibleTopology("server p:27017 requires wire version 99")) {
            try ServerSelector().suitableServers(for: .write, in: topology)
        }
    }

    @Test func tagsWithPrimaryModeAreRejectedButAnEmptyTagSetIsNot() throws {
        let tagged = ReadPreference(mode: .primary, tagSets: [["dc": "ny"]])
        #expect(throws: ServerSelectionError.invalidReadPreference(tagged, .tagSetsWithPrimaryMode)) {
            try ServerSelector().suitableServers(for: .read(tagged), in: F.replicaSet)
        }
        let empty = ReadPreference(mode: .primary, tagSets: [[:]])
        #expect(try F.suitable(.read(empty), in: F.replicaSet) == ["p:27017"])
    }

    @Test func selectReturnsAServerInTheWindowOrNil() throws {
        var generator = SplitMix64(seed: 1)
        let chosen = try ServerSelector().select(for: .read(.secondary), in: F.replicaSet, using: &generator)
        #expect(["s1:27017", "s2:27017"].contains(chosen?.address.description ?? ""))
        let empty = F.topology(.replicaSetNoPrimary, [])
        #expect(try ServerSelector().select(for: .write, in: empty, using: &generator) == nil)
    }
}
