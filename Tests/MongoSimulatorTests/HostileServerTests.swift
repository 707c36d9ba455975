import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// Hostile servers over loopback: the bytes that come back for each behaviour, when the
/// connection closes, and that the loop keeps serving the other servers on time.
@Suite struct HostileServerTests {
    /// A two-member set: the first is made hostile, the second stays healthy.
    func startSet(topologyVersion: Bool = false) throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 2), topologyVersion: topologyVersion))
    }

    /// How long a hello to a healthy server takes, in milliseconds.
    func helloMilliseconds(_ simulator: MongoSimulator, _ address: String) throws -> Double {
        let start = MonotonicClock.nanoseconds()
        #expect(try simulator.hello(address)["ok"] == .double(1))
        return Double(MonotonicClock.nanoseconds() - start) / 1e6
    }

    /// The bytes of a normal hello reply on a fresh connection (for lengths).
    func normalReplyLength(_ address: String) throws -> Int {
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        let reply = try client.receive()
        return try reply.encoded().count
    }

    @Test func garbageIsNoFrameAndTheConnectionStaysOpen() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.makeHostile(address, .garbage)
        #expect(try simulator.behaviour(of: address) == .hostile(.garbage))
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        let (bytes, end) = client.readRaw(for: 0.2)
        #expect(bytes.count == 64)
        #expect(end == .open)
        #expect(bytes[3] & 0x80 != 0, "the declared messageLength must be negative")
        #expect(throws: (any Error).self) { try SimulatorTestClient(address).command(["hello": .int32(1)]) }
    }

    @Test func truncatedReplyThenClose() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let full = try normalReplyLength(address)
        try simulator.makeHostile(address, .truncatedReply)
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        let (bytes, end) = client.readRaw(for: 5)
        #expect(end == .closed)
        #expect(bytes.count == full / 2)
    }

    @Test func oversizedLengthDeclaresOneGiB() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let full = try normalReplyLength(address)
        try simulator.makeHostile(address, .oversizedLength)
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        let (bytes, end) = client.readRaw(for: 5, limit: full)
        #expect(end == .open)
        #expect(bytes.count == full)
        #expect(Array(bytes.prefix(4)) == [0, 0, 0, 0x40])
        #expect(throws: WireError.self) { try SimulatorTestClient(address).command(["ping": .int32(1)]) }
    }

    @Test func wrongResponseTo() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.makeHostile(address, .wrongResponseTo)
        let client = try SimulatorTestClient(address)
        let request = try client.sendHello()
        let reply = try client.receive()
        #expect(reply.responseTo == request + 1)
        #expect(throws: WireError.self) { try SimulatorTestClient(address).command(["ping": .int32(1)]) }
    }

    @Test func trickleSendsOneBytePerIntervalWhileOthersAnswerAtOnce() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let (hostile, healthy) = (simulator.addresses[0], simulator.addresses[1])
        try simulator.makeHostile(hostile, .trickle(byteIntervalMS: 100))
        var clients: [SimulatorTestClient] = []
        for _ in 0..<5 {
            let client = try SimulatorTestClient(hostile)
            _ = try client.sendHello()
            clients.append(client)
        }
        var slowest = 0.0
        for _ in 0..<10 { slowest = max(slowest, try helloMilliseconds(simulator, healthy)) }
        #expect(slowest < 100, "a healthy server took \(slowest) ms beside a trickling one")
        let (bytes, end) = clients[0].readRaw(for: 0.55)
        #expect(end == .open)
        #expect((2...7).contains(bytes.count), "\(bytes.count) bytes in 550 ms at one per 100 ms")
    }

    @Test func trickledReplyIsWholeAndInOrder() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.makeHostile(address, .trickle(byteIntervalMS: 1))
        let client = try SimulatorTestClient(address)
        client.timeout = 10
        #expect(try client.command(["ping": .int32(1)]) == ["ok": .double(1)])
        #expect(try client.command(["hello": .int32(1)])["setName"] == .string("rs0"))
    }

    @Test func resetInTheMiddleOfAReply() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let full = try normalReplyLength(address)
        try simulator.makeHostile(address, .resetMidReply)
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        let (bytes, end) = client.readRaw(for: 5)
        #expect(end == .reset)
        #expect(bytes.count <= full / 2)
    }

    @Test func helloFailureSparesOtherCommands() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.makeHostile(address, .helloFailure)
        let client = try SimulatorTestClient(address)
        let reply = try client.command(["hello": .int32(1)])
        #expect(reply["ok"] == .double(0))
        #expect(reply["code"] == .int32(8))
        let legacy = try client.legacyCommand(["isMaster": .int32(1)])
        #expect(try BSONDocument(bytes: try #require(legacy.documents.first))["ok"] == .double(0))
        #expect(try client.command(["ping": .int32(1)]) == ["ok": .double(1)])
    }

    @Test func helloHostListsAndSetName() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let (address, other) = (simulator.addresses[0], simulator.addresses[1])
        let real = simulator.addresses.map { BSON.string($0) }
        try simulator.makeHostile(address, .manyHosts(count: 10_000))
        let many = try #require(try simulator.hello(address)["hosts"]?.arrayValue)
        #expect(many.count == 10_000)
        #expect(Array(many.prefix(2)) == real)
        try simulator.makeHostile(address, .invalidHosts)
        #expect(try simulator.hello(address)["hosts"]?.arrayValue == real + HostileBehaviour.invalidHostNames.map { .string($0) })
        try simulator.makeHostile(address, .duplicateHosts)
        #expect(try simulator.hello(address)["hosts"]?.arrayValue == real + real)
        try simulator.makeHostile(address, .upperCaseHosts)
        let upper = try simulator.hello(address)
        #expect(upper["me"]?.stringValue?.hasPrefix("LOCALHOST:") == true)
        #expect(upper["hosts"]?.arrayValue?.allSatisfy { $0.stringValue?.hasPrefix("LOCALHOST:") == true } == true)
        try simulator.makeHostile(address, .changedSetName("evil"))
        #expect(try simulator.hello(address)["setName"] == .string("evil"))
        // Only that server: the other still describes the real set.
        let healthy = try simulator.hello(other)
        #expect(healthy["setName"] == .string("rs0"))
        #expect(healthy["hosts"]?.arrayValue == real)
        try simulator.revive(address)
        #expect(try simulator.hello(address)["setName"] == .string("rs0"))
        #expect(try simulator.behaviour(of: address) == .normal)
    }

    @Test func everyBehaviourReturnsToNormal() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let behaviours: [HostileBehaviour] = [
            .garbage, .truncatedReply, .oversizedLength, .wrongResponseTo, .trickle(byteIntervalMS: 100), .resetMidReply,
            .helloFailure, .manyHosts(count: 10), .invalidHosts, .duplicateHosts, .upperCaseHosts, .changedSetName("x"),
        ]
        let console = ControlConsole(simulator: simulator)
        for behaviour in behaviours {
            try simulator.setBehaviour(.hostile(behaviour), of: address)
            #expect(try simulator.status().contains("\(address)=primary/hostile:\(behaviour)"))
            #expect(console.respond(to: "normal \(address)") == ("ok revived \(address)", false))
            let reply = try simulator.hello(address)
            #expect(reply["me"] == .string(address))
            #expect(reply["hosts"]?.arrayValue?.count == 2)
        }
        #expect(console.respond(to: "hostile \(address) trickle 50") == ("ok \(address) hostile trickle:50", false))
        try simulator.setBehaviour(.down, of: address)
        #expect(throws: SimulatorError.serverDown(address)) { try simulator.makeHostile(address, .garbage) }
        try simulator.setBehaviour(.normal, of: address)
        #expect(try simulator.behaviour(of: address) == .normal)
    }

    @Test func hostileAnswersReachParkedStreams() throws {
        let simulator = try startSet(topologyVersion: true)
        defer { simulator.stop() }
        let address = simulator.addresses[1]
        let version = try #require(try simulator.hello(address)["topologyVersion"]?.documentValue)
        let client = try SimulatorTestClient(address)
        var answering = try client.sendAwaitableHello(version, maxAwaitTimeMS: 30_000, exhaust: true)
        try simulator.makeHostile(address, .changedSetName("evil"))
        let pushed = try client.receive(respondingTo: answering)
        #expect(pushed.opMsg?.flags.contains(.moreToCome) == true)
        #expect(try BSONDocument(bytes: try #require(pushed.opMsg).body)["setName"] == .string("evil"))
        answering = pushed.requestID
        // An error ends the stream: no moreToCome.
        try simulator.makeHostile(address, .helloFailure)
        let failed = try client.receive(respondingTo: answering)
        #expect(failed.opMsg?.flags.contains(.moreToCome) == false)
        #expect(try BSONDocument(bytes: try #require(failed.opMsg).body)["ok"] == .double(0))
        // And the connection serves requests again.
        #expect(try client.command(["ping": .int32(1)]) == ["ok": .double(1)])
        // A wire-level behaviour spoils the stream's replies too.
        try simulator.revive(address)
        let fresh = try #require(try simulator.hello(address)["topologyVersion"]?.documentValue)
        let streaming = try SimulatorTestClient(address)
        _ = try streaming.sendAwaitableHello(fresh, maxAwaitTimeMS: 30_000, exhaust: true)
        try simulator.makeHostile(address, .truncatedReply)
        #expect(streaming.readRaw(for: 5).end == .closed)
    }

    @Test func hangAndKillOverrideHostility() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.makeHostile(address, .helloFailure)
        try simulator.hang(address)
        #expect(try simulator.behaviour(of: address) == .hung)
        let client = try SimulatorTestClient(address)
        _ = try client.sendHello()
        #expect(client.staysSilent(for: 0.1))
        try simulator.makeHostile(address, .changedSetName("evil"))
        #expect(try BSONDocument(bytes: try #require(try client.receive().opMsg).body)["setName"] == .string("evil"))
        try simulator.kill(address)
        #expect(client.isClosedByServer(within: 5))
        #expect(throws: TestClientError.self) { try SimulatorTestClient(address) }
    }

    @Test func unreadableHandshakeSpoilsOnlyHandshakeReplies() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let established = try SimulatorTestClient(address)
        #expect(try established.command(["hello": .int32(1)])["ok"] == .double(1))
        try simulator.makeHostile(address, .unreadableHandshake)
        let handshake: BSONDocument = ["isMaster": .int32(1), "helloOk": .bool(true),
                                       "client": .document(["application": .document(["name": .string("app")])])]
        // Over OP_MSG and OP_QUERY: well framed, in the request's opcode, but not BSON.
        let client = try SimulatorTestClient(address)
        var body = handshake
        body["$db"] = .string("admin")
        let reply = try client.roundTrip(.msg(OpMsg(body: body.encoded())))
        let replyBody = try #require(reply.opMsg).body
        #expect(throws: (any Error).self) { try BSONDocument(bytes: replyBody) }
        #expect(throws: ReplyError.self) { try Handshake.replyDocument(of: reply, from: ServerAddress(host: "127.0.0.1", port: 1)) }
        let legacy = try SimulatorTestClient(address).legacyCommand(handshake)
        #expect(throws: (any Error).self) { try BSONDocument(bytes: try #require(legacy.documents.first)) }
        // Checks and commands without client metadata are answered as usual.
        #expect(try established.command(["hello": .int32(1)])["ok"] == .double(1))
        #expect(try client.command(["ping": .int32(1)]) == ["ok": .double(1)])
        #expect(try ControlCommand(parsing: "hostile \(address) badhandshake") == .hostile(address, .unreadableHandshake))
    }
}
