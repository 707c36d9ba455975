import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

/// What each hostile behaviour does to a reply, byte by byte and field by field, without sockets.
@Suite struct HostileBehaviourTests {
    let me = "127.0.0.1:27018"
    let hosts = ["127.0.0.1:27017", "127.0.0.1:27018"]

    /// A real reply: requestID 7 answering request 41.
    func encodedReply() throws -> [UInt8] {
        try WireMessage(requestID: 7, responseTo: 41, payload: .msg(OpMsg(body: bson(["ok": .double(1)]).encoded()))).encoded()
    }

    func hello() -> BSONDocument {
        ["isWritablePrimary": .bool(false), "hosts": .array(hosts.map { .string($0) }), "setName": .string("rs0"),
         "primary": .string(hosts[0]), "me": .string(me), "ok": .double(1)]
    }

    func decodeFails(_ bytes: [UInt8], expectedResponseTo: Int32? = 41) -> Bool {
        var decoder = FrameDecoder(expectedResponseTo: expectedResponseTo)
        decoder.append(bytes)
        return (try? decoder.nextMessage()) == nil && decoder.failure != nil
    }

    @Test func garbageIsNoFrame() throws {
        var random = SplitMix64(seed: 1)
        for _ in 0..<100 {
            let out = HostileBehaviour.garbage.outgoing(try encodedReply(), random: &random)
            #expect(out.bytes.count == 64)
            #expect(out.ending == .keepOpen)
            #expect(decodeFails(out.bytes, expectedResponseTo: nil))
        }
    }

    @Test func truncatedAndResetRepliesStopHalfway() throws {
        var random = SplitMix64(seed: 1)
        let reply = try encodedReply()
        let truncated = HostileBehaviour.truncatedReply.outgoing(reply, random: &random)
        #expect(truncated == OutgoingReply(bytes: Array(reply.prefix(reply.count / 2)), ending: .close))
        let reset = HostileBehaviour.resetMidReply.outgoing(reply, random: &random)
        #expect(reset == OutgoingReply(bytes: Array(reply.prefix(reply.count / 2)), ending: .reset))
    }

    @Test func oversizedLengthDeclaresOneGiB() throws {
        var random = SplitMix64(seed: 1)
        let reply = try encodedReply()
        let out = HostileBehaviour.oversizedLength.outgoing(reply, random: &random)
        #expect(out.bytes.prefix(4) == [0, 0, 0, 0x40])
        #expect(out.bytes.dropFirst(4) == reply.dropFirst(4))
        var decoder = FrameDecoder()
        decoder.append(out.bytes.prefix(4))
        #expect(throws: WireError.self) { try decoder.nextMessage() }
    }

    @Test func wrongResponseToAnswersTheNextRequestID() throws {
        var random = SplitMix64(seed: 1)
        let out = HostileBehaviour.wrongResponseTo.outgoing(try encodedReply(), random: &random)
        #expect(try WireMessage.decode(frame: out.bytes).responseTo == 42)
        #expect(decodeFails(out.bytes))
    }

    @Test func trickleKeepsTheBytesAndPacesThem() throws {
        var random = SplitMix64(seed: 1)
        let reply = try encodedReply()
        #expect(HostileBehaviour.trickle(byteIntervalMS: 100).outgoing(reply, random: &random)
                == OutgoingReply(bytes: reply, byteInterval: 0.1))
        #expect(HostileBehaviour.helloFailure.outgoing(reply, random: &random) == OutgoingReply(bytes: reply))
    }

    @Test func helloFailureIsOkZero() {
        let reply = HostileBehaviour.helloFailure.tamper(hello: hello(), address: me)
        #expect(reply["ok"] == .double(0))
        #expect(reply["code"] == .int32(8))
        #expect(reply["hosts"] == nil)
    }

    @Test func manyHostsKeepsTheRealOnesFirst() throws {
        let reply = HostileBehaviour.manyHosts(count: 10_000).tamper(hello: hello(), address: me)
        let listed = try #require(reply["hosts"]?.arrayValue?.compactMap { $0.stringValue })
        #expect(listed.count == 10_000)
        #expect(Array(listed.prefix(2)) == hosts)
        #expect(listed[2] == "host1.invalid:27017")
        #expect(Set(listed).count == 10_000)
    }

    @Test func invalidDuplicateAndUpperCaseHosts() {
        let invalid = HostileBehaviour.invalidHosts.tamper(hello: hello(), address: me)
        #expect(invalid["hosts"] == .array((hosts + HostileBehaviour.invalidHostNames).map { .string($0) }))
        let duplicated = HostileBehaviour.duplicateHosts.tamper(hello: hello(), address: me)
        #expect(duplicated["hosts"] == .array((hosts + hosts).map { .string($0) }))
        let mongos = HostileBehaviour.duplicateHosts.tamper(hello: ["msg": .string("isdbgrid"), "ok": .double(1)], address: me)
        #expect(mongos["hosts"] == .array([.string(me), .string(me)]))
        let upper = HostileBehaviour.upperCaseHosts.tamper(hello: hello(), address: me)
        #expect(upper["hosts"] == .array([.string("LOCALHOST:27017"), .string("LOCALHOST:27018")]))
        #expect(upper["primary"] == .string("LOCALHOST:27017"))
        #expect(upper["me"] == .string("LOCALHOST:27018"))
        let named = HostileBehaviour.upperCaseHosts.tamper(hello: ["hosts": .array([.string("db1.example.com:27017")])], address: me)
        #expect(named["hosts"] == .array([.string("DB1.EXAMPLE.COM:27017")]))
    }

    @Test func changedSetName() {
        #expect(HostileBehaviour.changedSetName("other").tamper(hello: hello(), address: me)["setName"] == .string("other"))
    }

    @Test func wireBehavioursLeaveHelloAlone() {
        for behaviour: HostileBehaviour in [.garbage, .truncatedReply, .oversizedLength, .wrongResponseTo,
                                            .trickle(byteIntervalMS: 1), .resetMidReply] {
            #expect(behaviour.tamper(hello: hello(), address: me) == hello())
        }
    }
}
