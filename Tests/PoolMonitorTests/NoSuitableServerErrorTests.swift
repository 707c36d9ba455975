import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The error raised when nothing becomes suitable names the read preference and says why.
@Suite struct NoSuitableServerErrorTests {
    typealias F = SelectionFixtures

    func message(_ operation: ServerSelectionOperation, _ topology: TopologyDescription, _ selector: ServerSelector = ServerSelector()) -> String {
        selector.noSuitableServerError(for: operation, in: topology).description
    }

    @Test func tagMismatchListsTheMembersTags() {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "tokyo"]])
        let text = message(.read(readPreference), F.replicaSet)
        #expect(text.hasPrefix("No server is suitable for read with read preference secondary (tags [{dc: tokyo}])"))
        #expect(text.contains("no secondary of 2 matches the tag sets"))
        #expect(text.contains("s2:27017 {dc: sf}"))
    }

    @Test func staleSecondariesShowTheirEstimates() {
        let topology = F.topology(.replicaSetNoPrimary, [
            F.server("s1:27017", .rsSecondary, lastWrite: 500_000),
            F.server("s2:27017", .rsSecondary, lastWrite: 100_000),
        ])
        let readPreference = ReadPreference(mode: .secondaryPreferred, tagSets: [["dc": "ny"]], maxStalenessSeconds: 90)
        let text = message(.read(readPreference), topology)
        #expect(text.contains("matches the tag sets"))
        let strict = ReadPreference(mode: .secondary, maxStalenessSeconds: 90)
        let topology2 = F.topology(.replicaSetWithPrimary, [
            F.server("p:27017", .rsPrimary, lastUpdate: 0, lastWrite: 500_000),
            F.server("s:27017", .rsSecondary, lastUpdate: 0, lastWrite: 100_000),
        ])
        let stale = message(.read(strict), topology2)
        #expect(stale.contains("no secondary is within maxStalenessSeconds 90 (estimated staleness: s:27017 410 s)"))
    }

    @Test func noPrimaryForWritesOrModePrimary() {
        let topology = F.topology(.replicaSetNoPrimary, [F.server("s:27017", .rsSecondary)])
        #expect(message(.write, topology).contains("the replica set has no primary for writes"))
        #expect(message(.read(.primary), topology) == "No server is suitable for read with read preference primary: topology type ReplicaSetNoPrimary: the replica set has no primary (servers: s:27017 RSSecondary)")
    }

    @Test func unreachableServersReportTheirErrors() {
        let same = F.topology(.replicaSetNoPrimary, [
            F.server("a:27017", .unknown, error: "connection refused"),
            F.server("b:27017", .unknown, error: "connection refused"),
        ])
        #expect(message(.read(.nearest), same).hasSuffix("no server is available: connection refused"))
        let mixed = F.topology(.sharded, [
            F.server("a:27017", .unknown, error: "connection refused"),
            F.server("b:27017", .unknown),
        ])
        #expect(message(.write, mixed).hasSuffix("a:27017 Unknown: connection refused, b:27017 Unknown (not checked yet)"))
        #expect(message(.write, F.topology(.sharded, [])).hasSuffix("no servers are known"))
    }

    @Test func unknownTopologyIsStillBeingDiscovered() {
        let text = message(.read(.nearest), F.topology(.unknown, [F.server("a:27017", .rsGhost)]))
        #expect(text.contains("topology type Unknown: the deployment has not been discovered yet (servers: a:27017 RSGhost)"))
    }
}
