import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct WireErrorTests {
    @Test func describesWhatWasExpectedAndWhatCame() {
        #expect(WireError(.messageLengthBelowMinimum(12)).description == "messageLength 12 is below the minimum 16")
        #expect(WireError(.responseToMismatch(received: 7, expected: 9)).description
            == "responseTo 7 does not match request 9")
        #expect(WireError(.documentLengthExceedsRemaining(300, remaining: 120, context: "section")).description
            == "document length 300 exceeds the 120 bytes left in section")
        #expect(WireError(.checksumMismatch(computed: 0xE306_9283, declared: 0x1)).description
            == "CRC-32C mismatch: computed 0xE3069283, message says 0x00000001")
        #expect(WireError(.unknownRequiredFlagBits(flagBits: 0x6, unknown: 0x4)).description
            == "OP_MSG flagBits 0x00000006 set unknown required bits 0x00000004")
        #expect(WireError(.messageLengthAboveMaximum(50_000_000, maximum: 48_000_000)).description
            == "messageLength 50000000 exceeds maxMessageSizeBytes 48000000")
    }

    @Test func serverPrefixesTheDescription() {
        let error = WireError(.messageLengthBelowMinimum(12), server: "127.0.0.1:27017")
        #expect(error.description == "from 127.0.0.1:27017: messageLength 12 is below the minimum 16")
        #expect(WireError(.missingBodySection).from(server: "h:1") == WireError(.missingBodySection, server: "h:1"))
    }

    @Test func frameLengthMustMatchTheHeader() {
        var frame = WireFixture.frame(opCode: 2013, body: [0, 0, 0, 0, 0] + WireFixture.empty)
        frame.append(0)
        #expect(throws: WireError(.messageLengthMismatch(declared: 26, actual: 27))) {
            try WireMessage.decode(frame: frame)
        }
        #expect(throws: WireError(.messageLengthBelowMinimum(3))) {
            try WireMessage.decode(frame: [3, 0, 0, 0] + [UInt8](repeating: 0, count: 12))
        }
        #expect(throws: WireError(.truncated(field: "message header", needed: 16, available: 5))) {
            try WireMessage.decode(frame: [5, 0, 0, 0, 0])
        }
    }

    @Test(arguments: [2001, 2002, 2005, 0, -1] as [Int32])
    func unknownOpcodesAreUnsupported(_ code: Int32) {
        #expect(OpCode(rawValue: code) == .unknown(code))
        #expect(throws: WireError(.unsupportedOpCode(code))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: code, body: [0, 0, 0, 0]))
        }
    }

    @Test func knownOpcodesMapBothWays() {
        for (code, op) in [(Int32(1), OpCode.reply), (2004, .query), (2012, .compressed), (2013, .msg)] {
            #expect(OpCode(rawValue: code) == op)
            #expect(op.rawValue == code)
        }
        #expect(OpCode.msg.description == "OP_MSG")
    }

    @Test func headerDecodesAndEncodes() throws {
        let header = MessageHeader(messageLength: 100, requestID: -5, responseTo: 77, opCode: .msg)
        #expect(try MessageHeader(decoding: header.encoded + [1, 2, 3]) == header)
        #expect(throws: WireError(.truncated(field: "message header", needed: 16, available: 15))) {
            try MessageHeader(decoding: header.encoded.dropLast())
        }
    }
}
