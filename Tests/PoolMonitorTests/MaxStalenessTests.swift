import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// maxStalenessSeconds: its validation and the two staleness estimates.
@Suite struct MaxStalenessTests {
    typealias F = SelectionFixtures

    /// Primary written at 100 s, checked at 100 s; s1 0 s behind, s2 60 s behind, both checked at 100 s.
    static var withPrimary: TopologyDescription {
        F.topology(.replicaSetWithPrimary, [
            F.server("p:27017", .rsPrimary, lastUpdate: 100_000, lastWrite: 100_000),
            F.server("s1:27017", .rsSecondary, lastUpdate: 100_000, lastWrite: 100_000),
            F.server("s2:27017", .rsSecondary, lastUpdate: 100_000, lastWrite: 40_000),
        ])
    }

    @Test func minimumIsNinetySecondsOrHeartbeatPlusIdleWritePeriod() {
        #expect(MaxStaleness.minimumSeconds(heartbeatFrequencyMS: 10_000) == 90)
        #expect(MaxStaleness.minimumSeconds(heartbeatFrequencyMS: 120_000) == 130)
        #expect(MaxStaleness.minimumSeconds(heartbeatFrequencyMS: 120_001) == 131)
        #expect(MaxStaleness.minimumSeconds(heartbeatFrequencyMS: Int.max) > 90)
    }

    @Test func tooSmallIsAnErrorInAReplicaSetThatNamesTheMinimum() throws {
        let readPreference = ReadPreference(mode: .secondary, maxStalenessSeconds: 129)
        let selector = ServerSelector(heartbeatFrequencyMS: 120_000)
        let error = #expect(throws: ServerSelectionError.self) {
            try selector.suitableServers(for: .read(readPreference), in: Self.withPrimary)
        }
        #expect(error == .invalidReadPreference(readPreference, .maxStalenessTooSmall(minimumSeconds: 130, heartbeatFrequencyMS: 120_000)))
        let message = error?.description ?? ""
        #expect(message.contains("secondary (maxStalenessSeconds 129)"))
        #expect(message.contains("at least 130"))
        #expect(message.contains("heartbeatFrequencyMS 120000"))
        #expect(try selector.suitableServers(for: .read(ReadPreference(mode: .secondary, maxStalenessSeconds: 130)), in: Self.withPrimary).suitable.count == 1)
    }

    @Test func zeroIsTooSmall() {
        let readPreference = ReadPreference(mode: .nearest, maxStalenessSeconds: 0)
        #expect(throws: ServerSelectionError.invalidReadPreference(readPreference, .maxStalenessTooSmall(minimumSeconds: 90, heartbeatFrequencyMS: 10_000))) {
            try ServerSelector().suitableServers(for: .read(readPreference), in: Self.withPrimary)
        }
    }

    @Test func minusOneMeansNoMaximum() throws {
        let readPreference = ReadPreference(mode: .secondary, maxStalenessSeconds: -1)
        #expect(try F.suitable(.read(readPreference), in: Self.withPrimary) == ["s1:27017", "s2:27017"])
    }

    @Test func smallValuesAreNotCheckedOutsideReplicaSets() throws {
        let sharded = F.topology(.sharded, [F.server("m:27017", .mongos)])
        let readPreference = ReadPreference(mode: .nearest, maxStalenessSeconds: 1)
        #expect(try F.suitable(.read(readPreference), in: sharded) == ["m:27017"])
    }

    @Test func withModePrimaryIsAnErrorEverywhere() {
        let readPreference = ReadPreference(mode: .primary, maxStalenessSeconds: 120)
        for topology in [Self.withPrimary, F.topology(.sharded, [F.server("m:27017", .mongos)])] {
            let error = #expect(throws: ServerSelectionError.self) {
                try ServerSelector().suitableServers(for: .read(readPreference), in: topology)
            }
            #expect(error == .invalidReadPreference(readPreference, .maxStalenessWithPrimaryMode))
            #expect(error?.description == "Invalid read preference primary (maxStalenessSeconds 120): maxStalenessSeconds cannot be combined with mode primary")
        }
    }

    @Test func anAvailableServerBeforeWireVersionFiveIsAnError() {
        var topology = Self.withPrimary
        topology.servers[F.address("s2:27017")]?.maxWireVersion = 4
        topology.servers[F.address("x:27017")] = F.server("x:27017", .unknown, maxWireVersion: 0)
        let readPreference = ReadPreference(mode: .secondary, maxStalenessSeconds: 120)
        #expect(throws: ServerSelectionError.invalidReadPreference(readPreference, .maxStalenessNotSupported(server: F.address("s2:27017"), maxWireVersion: 4))) {
            try ServerSelector().suitableServers(for: .read(readPreference), in: topology)
        }
    }

    @Test func stalenessWithAPrimaryComparesLagsAndAddsTheHeartbeat() {
        let estimator = StalenessEstimator(topology: Self.withPrimary, heartbeatFrequencyMS: 10_000)
        #expect(estimator.stalenessMS(of: F.server("s1:27017", .rsSecondary, lastUpdate: 100_000, lastWrite: 100_000)) == 10_000)
        #expect(estimator.stalenessMS(of: F.server("s2:27017", .rsSecondary, lastUpdate: 100_000, lastWrite: 40_000)) == 70_000)
        // The spec's worked example: (70 - 5) - (60 - 10) + 10 = 25 seconds, clock skew cancels out.
        let example = F.topology(.replicaSetWithPrimary, [F.server("p:27017", .rsPrimary, lastUpdate: 60_000, lastWrite: 10_000)])
        let secondary = F.server("s:27017", .rsSecondary, lastUpdate: 70_000, lastWrite: 5_000)
        #expect(StalenessEstimator(topology: example, heartbeatFrequencyMS: 10_000).stalenessMS(of: secondary) == 25_000)
        #expect(estimator.stalenessMS(of: F.server("p:27017", .rsPrimary)) == 0)
    }

    @Test func stalenessWithoutAPrimaryMeasuresFromTheFreshestSecondary() throws {
        let topology = F.topology(.replicaSetNoPrimary, [
            F.server("s1:27017", .rsSecondary, lastWrite: 20_000),
            F.server("s2:27017", .rsSecondary, lastWrite: 5_000),
        ])
        let estimator = StalenessEstimator(topology: topology, heartbeatFrequencyMS: 10_000)
        #expect(estimator.stalenessMS(of: try #require(topology.servers[F.address("s1:27017")])) == 10_000)
        #expect(estimator.stalenessMS(of: try #require(topology.servers[F.address("s2:27017")])) == 25_000)
    }

    @Test func staleSecondariesAreFilteredBeforeTagSets() throws {
        var topology = Self.withPrimary
        topology.servers[F.address("s2:27017")]?.tags = ["dc": "ny"]
        topology.servers[F.address("s1:27017")]?.tags = ["dc": "sf"]
        // s2 (ny) is 70 s stale; with a 90 s max it stays. Make it 200 s stale so the ny set falls through to sf.
        topology.servers[F.address("s2:27017")]?.lastWriteDateMS = -100_000
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "ny"], ["dc": "sf"]], maxStalenessSeconds: 90)
        #expect(try F.suitable(.read(readPreference), in: topology) == ["s1:27017"])
    }

    @Test func aSecondaryWithoutLastWriteIsNeverFreshEnough() throws {
        var topology = Self.withPrimary
        topology.servers[F.address("s1:27017")]?.lastWriteDateMS = nil
        let readPreference = ReadPreference(mode: .secondary, maxStalenessSeconds: 100)
        #expect(try F.suitable(.read(readPreference), in: topology) == ["s2:27017"])
    }

    @Test func hostileDatesDoNotTrap() throws {
        let topology = F.topology(.replicaSetWithPrimary, [
            F.server("p:27017", .rsPrimary, lastUpdate: .min, lastWrite: .max),
            F.server("s:27017", .rsSecondary, lastUpdate: .max, lastWrite: .min),
        ])
        let strict = ReadPreference(mode: .secondaryPreferred, maxStalenessSeconds: 90)
        #expect(try F.suitable(.read(strict), in: topology) == ["p:27017"])
        let lax = ReadPreference(mode: .secondaryPreferred, maxStalenessSeconds: .max)
        #expect(try F.suitable(.read(lax), in: topology) == ["s:27017"])
    }
}
