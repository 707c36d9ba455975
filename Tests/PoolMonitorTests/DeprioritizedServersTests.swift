import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Deprioritized servers (where a retried operation failed) are used only when nothing else is
/// suitable.
@Suite struct DeprioritizedServersTests {
    typealias F = SelectionFixtures

    @Test func aDeprioritizedMongosIsAvoided() throws {
        let topology = F.topology(.sharded, [F.server("a:27017", .mongos), F.server("b:27017", .mongos, rtt: 100)])
        #expect(try F.suitable(.write, in: topology, deprioritized: [F.address("a:27017")]) == ["b:27017"])
    }

    @Test func theOnlySuitableServerIsUsedEvenIfDeprioritized() throws {
        let topology = F.topology(.sharded, [F.server("a:27017", .mongos)])
        #expect(try F.suitable(.write, in: topology, deprioritized: [F.address("a:27017")]) == ["a:27017"])
    }

    @Test func primaryPreferredWithDeprioritizedPrimaryTakesASecondary() throws {
        #expect(try F.suitable(.read(.primaryPreferred), in: F.replicaSet, deprioritized: [F.address("p:27017")]) == ["s1:27017", "s2:27017"])
    }

    @Test func secondaryPreferredWithAllSecondariesDeprioritizedTakesThePrimary() throws {
        let deprioritized: Set = [F.address("s1:27017"), F.address("s2:27017")]
        #expect(try F.suitable(.read(.secondaryPreferred), in: F.replicaSet, deprioritized: deprioritized) == ["p:27017"])
    }

    @Test func everythingDeprioritizedFallsBackToTheWholeTopology() throws {
        let all = Set(F.replicaSet.servers.keys)
        #expect(try F.suitable(.read(.secondaryPreferred), in: F.replicaSet, deprioritized: all) == ["s1:27017", "s2:27017"])
    }

    @Test func stalenessIsStillMeasuredAgainstADeprioritizedPrimary() throws {
        let topology = F.topology(.replicaSetWithPrimary, [
            F.server("p:27017", .rsPrimary, lastUpdate: 0, lastWrite: 200_000),
            F.server("s:27017", .rsSecondary, lastUpdate: 0, lastWrite: 0),
        ])
        // s is 210 s behind the primary; with the primary set aside, s must not become the "freshest".
        let readPreference = ReadPreference(mode: .primaryPreferred, maxStalenessSeconds: 120)
        #expect(try F.suitable(.read(readPreference), in: topology, deprioritized: [F.address("p:27017")]) == ["p:27017"])
    }
}
