import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// A 3-member set over real loopback sockets: hello contents and every control operation.
@Suite struct SimulatorReplicaSetTests {
    func startSet(members: Int = 3, electionDelayMS: Int = 0) throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: members), electionDelayMS: electionDelayMS))
    }

    func primaries(_ simulator: MongoSimulator) throws -> [String] {
        try simulator.addresses.filter { try simulator.hello($0)["isWritablePrimary"] == .bool(true) }
    }

    @Test func helloDescribesTheSetFromEveryMember() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let addresses = simulator.addresses
        #expect(addresses.count == 3)
        for (index, address) in addresses.enumerated() {
            let reply = try simulator.hello(address, ["helloOk": .bool(true)])
            #expect(reply["isWritablePrimary"] == .bool(index == 0))
            #expect(reply["secondary"] == .bool(index != 0))
            #expect(reply["hosts"] == .array(addresses.map { .string($0) }))
            #expect(reply["setName"] == .string("rs0"))
            #expect(reply["me"] == .string(address))
            #expect(reply["primary"] == .string(addresses[0]))
            #expect(reply["helloOk"] == .bool(true))
            #expect((reply["electionId"] != nil) == (index == 0))
            let description = try ServerDescription.parse(address: ServerAddress(address)!, hello: reply)
            #expect(description.type == (index == 0 ? .rsPrimary : .rsSecondary))
        }
    }

    @Test func countersCountHellosAndConnections() throws {
        let simulator = try startSet(members: 1)
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let client = try SimulatorTestClient(address)
        _ = try client.command(["hello": .int32(1)])
        _ = try client.command(["ping": .int32(1)])
        _ = try client.legacyCommand(["isMaster": .int32(1)])
        let stats = try #require(simulator.statistics(for: address))
        #expect(stats.hellosReceived == 2)
        #expect(stats.connectionsAccepted == 1)
        #expect(stats.openConnections == 1)
        #expect(simulator.statistics(for: "127.0.0.1:1") == nil)
    }

    @Test func legacyOpQueryIsMasterGetsOpReply() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let client = try SimulatorTestClient(simulator.addresses[1])
        let reply = try client.legacyCommand(["isMaster": .int32(1), "helloOk": .bool(true)])
        #expect(!reply.queryFailure)
        let document = try BSONDocument(bytes: try #require(reply.documents.first))
        #expect(document["ismaster"] == .bool(false))
        #expect(document["isWritablePrimary"] == nil)
        #expect(document["secondary"] == .bool(true))
        #expect(document["helloOk"] == .bool(true))
        let refused = try client.legacyCommand(["ping": .int32(1)])
        #expect(try BSONDocument(bytes: try #require(refused.documents.first))["code"] == .int32(352))
    }

    @Test func writesGoToThePrimaryAndReadsNeedSecondaryOk() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let primary = try SimulatorTestClient(simulator.addresses[0])
        let secondary = try SimulatorTestClient(simulator.addresses[1])
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        #expect(try primary.command(insert, database: "test")["n"] == .int32(1))
        let refused = try secondary.command(insert, database: "test")
        #expect(refused["code"] == .int32(10107))
        #expect(refused["codeName"] == .string("NotWritablePrimary"))
        #expect(try secondary.command(["find": .string("c")], database: "test")["code"] == .int32(13435))
        let read = try secondary.command(["find": .string("c"), "$readPreference": .document(["mode": .string("secondaryPreferred")])], database: "test")
        #expect(read["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.count == 1)
        #expect(try primary.command(["nope": .int32(1)])["code"] == .int32(59))
    }

    @Test func stepDownElectsAnotherMemberWithAGreaterElectionId() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let addresses = simulator.addresses
        let before = try #require(try simulator.hello(addresses[0])["electionId"]?.objectIDValue)
        try simulator.stepDown()
        #expect(try primaries(simulator) == [addresses[1]])
        let after = try #require(try simulator.hello(addresses[1])["electionId"]?.objectIDValue)
        #expect(before < after)
        #expect(try simulator.hello(addresses[0])["secondary"] == .bool(true))
        try simulator.elect(addresses[2])
        #expect(try primaries(simulator) == [addresses[2]])
        #expect(try #require(try simulator.hello(addresses[2])["electionId"]?.objectIDValue) > after)
        #expect(try simulator.hello(addresses[0])["primary"] == .string(addresses[2]))
    }

    @Test func electionWaitsForTheDelay() throws {
        let simulator = try startSet(electionDelayMS: 50)
        defer { simulator.stop() }
        try simulator.stepDown()
        #expect(try simulator.replicaSetState()?.primary == nil)
        #expect(try simulator.hello(simulator.addresses[1])["primary"] == nil)
        #expect(try eventually { try simulator.replicaSetState()?.primary != nil })
        let primary = try simulator.replicaSetState()?.primary
        #expect(primary == simulator.addresses[1])
    }

    @Test func killClosesConnectionsAndReviveReopensThePort() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let addresses = simulator.addresses
        let client = try SimulatorTestClient(addresses[0])
        _ = try client.command(["ping": .int32(1)])
        try simulator.kill(addresses[0])
        #expect(client.isClosedByServer(within: 5))
        #expect(throws: TestClientError.self) { try SimulatorTestClient(addresses[0]) }
        // The killed primary's set elected another member.
        #expect(try simulator.replicaSetState()?.primary == addresses[1])
        try simulator.revive(addresses[0])
        let revived = try simulator.hello(addresses[0])
        #expect(revived["secondary"] == .bool(true))
        #expect(revived["primary"] == .string(addresses[1]))
    }

    @Test func hangAcceptsButNeverAnswersUntilRevived() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[2]
        let existing = try SimulatorTestClient(address)
        _ = try existing.command(["ping": .int32(1)])
        try simulator.hang(address)
        existing.timeout = 0.2
        let before = simulator.statistics(for: address)?.connectionsAccepted ?? 0
        let fresh = try SimulatorTestClient(address)
        let hello: BSONDocument = ["hello": .int32(1), "$db": .string("admin")]
        let pending = try fresh.send(.msg(OpMsg(body: hello.encoded())))
        #expect(throws: TestClientError.self) { try existing.command(["ping": .int32(1)]) }
        #expect(fresh.staysSilent(for: 0.2))
        #expect(eventually { simulator.statistics(for: address)?.connectionsAccepted == before + 1 })
        try simulator.revive(address)
        let answer = try fresh.receive()
        #expect(answer.responseTo == pending)
    }

    @Test func addedMemberIsInEveryHostsAndRemovedMemberLeaves() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let added = try simulator.addMember()
        #expect(simulator.addresses.count == 4)
        for address in simulator.addresses {
            let reply = try simulator.hello(address)
            #expect(reply["hosts"]?.arrayValue?.contains(.string(added)) == true)
            #expect(reply["setVersion"] == .int32(2))
        }
        #expect(try simulator.hello(added)["secondary"] == .bool(true))
        let removed = simulator.addresses[1]
        let client = try SimulatorTestClient(removed)
        try simulator.removeMember(removed)
        #expect(client.isClosedByServer(within: 5))
        #expect(!simulator.addresses.contains(removed))
        let hosts = try simulator.hello(simulator.addresses[0])["hosts"]?.arrayValue ?? []
        #expect(!hosts.contains(.string(removed)))
        #expect(throws: SimulatorError.unknownServer(removed)) { try simulator.kill(removed) }
    }

    @Test func removingThePrimaryElectsAnother() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let addresses = simulator.addresses
        try simulator.removeMember(addresses[0])
        #expect(try primaries(simulator) == [addresses[1]])
    }

    @Test func malformedBytesCloseOnlyThatConnection() throws {
        let simulator = try startSet(members: 1)
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let bad = try SimulatorTestClient(address)
        try bad.sendRaw([3, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(bad.isClosedByServer(within: 5))
        let opcode = try SimulatorTestClient(address)
        var frame: [UInt8] = [20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xD2, 0x07, 0, 0, 0, 0, 0, 0]  // opCode 2002
        try opcode.sendRaw(frame)
        #expect(opcode.isClosedByServer(within: 5))
        frame.removeAll()
        #expect(try simulator.hello(address)["ok"] == .double(1))
    }
}
