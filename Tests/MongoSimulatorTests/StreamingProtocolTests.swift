import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// The streaming protocol over loopback: topologyVersion only when asked for, awaitable hellos
/// held until a change or maxAwaitTimeMS, exhaust streams with moreToCome and chained
/// responseTo, and kill / hang / remove interrupting them.
@Suite struct StreamingProtocolTests {
    func startSet(members: Int = 2, topologyVersion: Bool = true) throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: members), topologyVersion: topologyVersion))
    }

    func topologyVersion(_ simulator: MongoSimulator, _ address: String) throws -> BSONDocument {
        try #require(try simulator.hello(address)["topologyVersion"]?.documentValue)
    }

    func counter(_ document: BSONDocument?) -> Int64? { document?["counter"]?.int64Value }

    func body(_ message: WireMessage) throws -> BSONDocument {
        try BSONDocument(bytes: try #require(message.opMsg).body)
    }

    func moreToCome(_ message: WireMessage) -> Bool {
        message.opMsg?.flags.contains(.moreToCome) == true
    }

    func milliseconds(since start: UInt64) -> Double {
        Double(MonotonicClock.nanoseconds() - start) / 1e6
    }

    @Test func withoutTheOptionNoTopologyVersionAppears() throws {
        for configuration in [SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 2)),
                              SimulatorConfiguration(kind: .mongos(count: 1)), SimulatorConfiguration()] {
            let simulator = try MongoSimulator(configuration)
            defer { simulator.stop() }
            for address in simulator.addresses {
                #expect(try simulator.hello(address)["topologyVersion"] == nil)
            }
        }
        let simulator = try startSet(topologyVersion: false)
        defer { simulator.stop() }
        let secondary = try SimulatorTestClient(simulator.addresses[1])
        let refused = try secondary.command(["insert": .string("c"), "documents": .array([.document([:])])], database: "test")
        #expect(refused["code"] == .int32(10107))
        #expect(refused["topologyVersion"] == nil)
        // A 4.2 server ignores the streaming fields: answered at once, no moreToCome.
        let version: BSONDocument = ["processId": .objectID(BSONObjectID(hex: "0123456789abcdef01234567")!), "counter": .int64(0)]
        let request = try secondary.sendAwaitableHello(version, maxAwaitTimeMS: 10_000, exhaust: true)
        let reply = try secondary.receive(respondingTo: request)
        #expect(!moreToCome(reply))
        #expect(try body(reply)["topologyVersion"] == nil)
    }

    @Test func everyStateChangeGrowsTheCounter() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let (a, b) = (simulator.addresses[0], simulator.addresses[1])
        let first = try topologyVersion(simulator, a)
        #expect(first["processId"]?.objectIDValue != nil)
        #expect(try topologyVersion(simulator, b)["processId"] != first["processId"])
        var last = counter(first) ?? -1
        func grew(_ why: Comment) throws {
            let now = counter(try topologyVersion(simulator, a)) ?? -1
            #expect(now > last, why)
            last = now
        }
        try simulator.stepDown()
        try grew("stepdown and election")
        try simulator.elect(a)
        try grew("election")
        let added = try simulator.addMember()
        try grew("member added")
        try simulator.removeMember(added)
        try grew("member removed")
        try simulator.hang(a)
        try simulator.revive(a)
        try grew("hang and revive")
        // The state-change errors of 4.4+ carry it too.
        let secondary = try SimulatorTestClient(b)
        let refused = try secondary.command(["insert": .string("c"), "documents": .array([.document([:])])], database: "test")
        #expect(refused["topologyVersion"]?.documentValue?["counter"] != nil)
        // A killed and revived server is a new process.
        let beforeKill = try topologyVersion(simulator, b)
        try simulator.kill(b)
        try simulator.revive(b)
        #expect(try topologyVersion(simulator, b)["processId"] != beforeKill["processId"])
    }

    @Test func awaitableHelloWaitsAndAnswersAChangeAtOnce() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[1]
        let version = try topologyVersion(simulator, address)
        let client = try SimulatorTestClient(address)
        let request = try client.sendAwaitableHello(version, maxAwaitTimeMS: 30_000)
        #expect(client.staysSilent(for: 0.1))
        let start = MonotonicClock.nanoseconds()
        try simulator.elect(address)
        let reply = try client.receive(respondingTo: request)
        let elapsed = milliseconds(since: start)
        #expect(elapsed < 100, "answered \(elapsed) ms after the change")
        #expect(!moreToCome(reply))
        let document = try body(reply)
        #expect(counter(document["topologyVersion"]?.documentValue) ?? 0 > counter(version) ?? 0)
        #expect(document["isWritablePrimary"] == .bool(true))
        // The connection serves ordinary requests again.
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
    }

    @Test func awaitableHelloTimesOutAfterMaxAwaitTime() throws {
        let simulator = try startSet(members: 1)
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let version = try topologyVersion(simulator, address)
        let client = try SimulatorTestClient(address)
        let start = MonotonicClock.nanoseconds()
        let request = try client.sendAwaitableHello(version, maxAwaitTimeMS: 150)
        let reply = try client.receive(respondingTo: request)
        let elapsed = milliseconds(since: start)
        #expect(elapsed >= 140 && elapsed < 2_000, "answered after \(elapsed) ms")
        #expect(try body(reply)["topologyVersion"]?.documentValue == version)
    }

    @Test func aStaleVersionIsAnsweredAtOnce() throws {
        let simulator = try startSet(members: 1)
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try simulator.stepDown()  // counter 1 or more, so that an older one exists
        let version = try topologyVersion(simulator, address)
        let older: BSONDocument = ["processId": version["processId"]!, "counter": .int64((counter(version) ?? 1) - 1)]
        let otherProcess: BSONDocument = ["processId": .objectID(BSONObjectID(hex: "0123456789abcdef01234567")!),
                                          "counter": version["counter"]!]
        let client = try SimulatorTestClient(address)
        for stale in [older, otherProcess] {
            let start = MonotonicClock.nanoseconds()
            let request = try client.sendAwaitableHello(stale, maxAwaitTimeMS: 30_000)
            let reply = try client.receive(respondingTo: request)
            #expect(milliseconds(since: start) < 1_000)
            #expect(try body(reply)["topologyVersion"]?.documentValue == version)
        }
        let malformed = try client.command(["hello": .int32(1), "topologyVersion": .document(version)])
        #expect(malformed["code"] == .int32(51760))
    }

    @Test func exhaustStreamsRepliesChainedByResponseTo() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[1]
        var version = try topologyVersion(simulator, address)
        let client = try SimulatorTestClient(address)
        var answering = try client.sendAwaitableHello(version, maxAwaitTimeMS: 100, exhaust: true)
        // Two replies on maxAwaitTimeMS, each answering the one before.
        for _ in 0..<2 {
            let reply = try client.receive(respondingTo: answering)
            #expect(moreToCome(reply))
            #expect(try body(reply)["topologyVersion"]?.documentValue == version)
            answering = reply.requestID
        }
        // A change is pushed at once, within the same stream.
        #expect(client.staysSilent(for: 0.02))
        let start = MonotonicClock.nanoseconds()
        try simulator.elect(address)
        let pushed = try client.receive(respondingTo: answering)
        #expect(milliseconds(since: start) < 90)
        #expect(moreToCome(pushed))
        version = try #require(try body(pushed)["topologyVersion"]?.documentValue)
        #expect(try body(pushed)["isWritablePrimary"] == .bool(true))
        let next = try client.receive(respondingTo: pushed.requestID)
        #expect(try body(next)["topologyVersion"]?.documentValue == version)
        // Closing the connection ends the stream on the server too.
        client.close()
        #expect(eventually { simulator.statistics(for: address)?.openConnections == 0 })
    }

    @Test func killClosesAndHangSilencesStreams() throws {
        let simulator = try startSet(members: 3)
        defer { simulator.stop() }
        let addresses = simulator.addresses
        var clients: [SimulatorTestClient] = []
        var requests: [Int32] = []
        for address in addresses {
            let client = try SimulatorTestClient(address)
            requests.append(try client.sendAwaitableHello(try topologyVersion(simulator, address), maxAwaitTimeMS: 30_000, exhaust: true))
            clients.append(client)
        }
        #expect(clients[2].staysSilent(for: 0.05))
        try simulator.kill(addresses[2])
        #expect(clients[2].isClosedByServer(within: 5))
        // The others saw the killed member's... nothing: it was a secondary. Hang the second.
        try simulator.hang(addresses[1])
        try simulator.stepDown()
        let first = try clients[0].receive(respondingTo: requests[0])
        #expect(try body(first)["isWritablePrimary"] == .bool(false))
        #expect(clients[1].staysSilent(for: 0.2), "a hung server pushed a reply")
        try simulator.revive(addresses[1])
        let revived = try clients[1].receive(respondingTo: requests[1])
        #expect(moreToCome(revived))
        // Removing a member closes its stream.
        try simulator.removeMember(addresses[0])
        #expect(clients[0].isClosedByServer(within: 5))
    }

    @Test func requestsQueuedBehindAHeldHelloAreAnsweredAfterIt() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[1]
        let client = try SimulatorTestClient(address)
        let hello = try client.sendAwaitableHello(try topologyVersion(simulator, address), maxAwaitTimeMS: 30_000)
        let ping = try client.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        #expect(client.staysSilent(for: 0.1))
        try simulator.stepDown()
        #expect(try client.receive(respondingTo: hello).opMsg != nil)
        #expect(try body(try client.receive(respondingTo: ping)) == ["ok": .double(1)])
    }
}
