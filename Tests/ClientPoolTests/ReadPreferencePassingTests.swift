import Testing
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// `$readPreference` per the server-selection spec, by topology type and server type.
@Suite("passing the read preference")
struct ReadPreferencePassingTests {
    static let secondary = ReadPreference(mode: .secondary, tagSets: [["dc": "ny", "rack": "2"]])

    static func argument(_ operation: ServerSelectionOperation, _ server: ServerType, _ topology: TopologyType) -> BSONDocument? {
        ReadPreferencePassing.argument(for: operation, serverType: server, topologyType: topology)
    }

    @Test("mode primary is never sent to a replica set, mongos or load balancer; other modes are")
    func primaryIsNotSent() {
        for (server, topology) in [(ServerType.rsPrimary, TopologyType.replicaSetWithPrimary), (.mongos, .sharded), (.loadBalancer, .loadBalanced)] {
            #expect(Self.argument(.read(.primary), server, topology) == nil)
            #expect(Self.argument(.read(.secondaryPreferred), server, topology) == ["mode": .string("secondaryPreferred")])
        }
    }

    @Test("writes carry no read preference")
    func writesCarryNone() {
        #expect(Self.argument(.write, .mongos, .sharded) == nil)
        #expect(Self.argument(.write, .rsSecondary, .single) == nil)
    }

    @Test("Single: a standalone gets none, a mongos the mongos rules, any other server primaryPreferred for primary")
    func singleTopology() {
        #expect(Self.argument(.read(Self.secondary), .standalone, .single) == nil)
        #expect(Self.argument(.read(.primary), .mongos, .single) == nil)
        #expect(Self.argument(.read(.primary), .rsSecondary, .single) == ["mode": .string("primaryPreferred")])
        #expect(Self.argument(.read(Self.secondary), .rsSecondary, .single)?["mode"] == .string("secondary"))
    }

    @Test("the document has the camel-case mode, tags in order with sorted keys, and maxStalenessSeconds")
    func documentStructure() {
        let readPreference = ReadPreference(mode: .primaryPreferred, tagSets: [["rack": "2", "dc": "ny"], [:]], maxStalenessSeconds: 90)
        let expected: BSONDocument = [
            "mode": .string("primaryPreferred"),
            "tags": .array([.document(["dc": .string("ny"), "rack": .string("2")]), .document([:])]),
            "maxStalenessSeconds": .int64(90),
        ]
        #expect(ReadPreferencePassing.document(for: readPreference) == expected)
        #expect(ReadPreferencePassing.document(for: .nearest) == ["mode": .string("nearest")])
    }

    @Test("a $readPreference the caller wrote is kept")
    func callersArgumentIsKept() {
        let command: BSONDocument = ["find": .string("t"), "$readPreference": .document(["mode": .string("nearest")])]
        #expect(ReadPreferencePassing.command(command, for: .read(.secondary), serverType: .mongos, topologyType: .sharded) == command)
    }
}
