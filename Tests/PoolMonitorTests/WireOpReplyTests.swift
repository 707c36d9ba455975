import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct WireOpReplyTests {
    let ok = WireFixture.document("ok", 1)

    /// responseFlags, cursorID, startingFrom, numberReturned, then documents.
    private func replyBody(flags: Int32 = 0, numberReturned: Int32, _ documents: [UInt8]...) -> [UInt8] {
        WireFixture.int32LE(flags) + [1, 0, 0, 0, 0, 0, 0, 0x80] + WireFixture.int32LE(0)
            + WireFixture.int32LE(numberReturned) + documents.flatMap { $0 }
    }

    @Test func decodesTheWireLayout() throws {
        let frame = WireFixture.frame(requestID: 50, responseTo: 11, opCode: 1, body: replyBody(flags: 8, numberReturned: 1, ok))
        let message = try WireMessage.decode(frame: frame)
        #expect(message.requestID == 50)
        #expect(message.responseTo == 11)
        let reply = try #require(message.opReply)
        #expect(reply.responseFlags == .awaitCapable)
        #expect(reply.cursorID == Int64(bitPattern: 0x8000_0000_0000_0001))
        #expect(reply.documents == [ok])
        #expect(!reply.queryFailure)
    }

    @Test func roundTripsSeveralDocuments() throws {
        let message = WireMessage(requestID: 1, responseTo: 2, payload: .reply(OpReply(
            responseFlags: [.awaitCapable], cursorID: 99, startingFrom: 4,
            documents: [ok, WireFixture.empty, WireFixture.document("x", text: "hello")])))
        #expect(try WireMessage.decode(frame: try message.encoded()) == message)
    }

    @Test func surfacesQueryFailure() throws {
        let error = WireFixture.document("$err", text: "not authorized")
        let frame = WireFixture.frame(opCode: 1, body: replyBody(flags: 2, numberReturned: 1, error))
        let reply = try #require(try WireMessage.decode(frame: frame).opReply)
        #expect(reply.queryFailure)
        #expect(reply.documents == [error])
    }

    @Test func numberReturnedMustMatchTheDocuments() {
        #expect(throws: WireError(.numberReturnedMismatch(declared: 2, actual: 1))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 1, body: replyBody(numberReturned: 2, ok)))
        }
        #expect(throws: WireError(.numberReturnedMismatch(declared: -1, actual: 0))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 1, body: replyBody(numberReturned: -1)))
        }
        #expect(throws: WireError(.trailingBytes(count: ok.count, context: "the 1 OP_REPLY documents"))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 1, body: replyBody(numberReturned: 1, ok, ok)))
        }
    }

    @Test func truncatedFixedFields() {
        #expect(throws: WireError(.truncated(field: "OP_REPLY cursorID", needed: 8, available: 3))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 1, body: [0, 0, 0, 0, 1, 2, 3]))
        }
    }

    @Test func documentMustFitTheReply() {
        let document = WireFixture.int32LE(40) + [0, 0, 0, 0]
        #expect(throws: WireError(.documentLengthExceedsRemaining(40, remaining: 8, context: "OP_REPLY documents"))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 1, body: replyBody(numberReturned: 1, document)))
        }
    }
}
