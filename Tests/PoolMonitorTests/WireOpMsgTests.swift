import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct WireOpMsgTests {
    let a1 = WireFixture.document("a", 1)

    private func roundTrip(_ message: WireMessage) throws -> WireMessage {
        try WireMessage.decode(frame: try message.encoded())
    }

    /// An OP_MSG frame whose part after the header is `body`.
    private func msgFrame(_ body: [UInt8]) -> [UInt8] {
        WireFixture.frame(opCode: 2013, body: body)
    }

    // MARK: - Layout and round trips

    @Test func encodesTheSpecLayout() throws {
        let message = WireMessage(requestID: 7, payload: .msg(OpMsg(body: a1)))
        let expected: [UInt8] = [33, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0xDD, 0x07, 0, 0,
                                 0, 0, 0, 0, 0] + a1
        #expect(try message.encoded() == expected)
    }

    @Test func bodyOnlyRoundTrips() throws {
        let message = WireMessage(requestID: 42, responseTo: 9, payload: .msg(OpMsg(body: a1)))
        let decoded = try roundTrip(message)
        #expect(decoded == message)
        #expect(decoded.opCode == .msg)
        #expect(decoded.opMsg?.body == a1)
    }

    @Test(arguments: [
        OpMsg.Flags(), [.moreToCome], [.exhaustAllowed], [.moreToCome, .exhaustAllowed],
        [.checksumPresent], [.checksumPresent, .moreToCome, .exhaustAllowed],
    ] as [OpMsg.Flags])
    func flagsRoundTrip(_ flags: OpMsg.Flags) throws {
        let message = WireMessage(requestID: 1, payload: .msg(OpMsg(flags: flags, body: a1)))
        #expect(try roundTrip(message).opMsg?.flags == flags)
    }

    @Test func documentSequencesRoundTrip() throws {
        let docs = [WireFixture.document("_id", 1), WireFixture.document("_id", text: "two"), WireFixture.empty]
        let message = WireMessage(requestID: 3, payload: .msg(OpMsg(
            body: WireFixture.document("insert", text: "c"),
            documentSequences: [
                .init(identifier: "documents", documents: docs),
                .init(identifier: "empty", documents: []),
            ])))
        let decoded = try roundTrip(message)
        #expect(decoded == message)
        #expect(decoded.opMsg?.documentSequences.map(\.identifier) == ["documents", "empty"])
    }

    @Test func sequenceMayComeBeforeTheBody() throws {
        var body: [UInt8] = [0, 0, 0, 0, 1]
        let identifier = Array("ids".utf8) + [0]
        body += WireFixture.int32LE(Int32(4 + identifier.count + a1.count)) + identifier + a1
        body += [0] + WireFixture.empty
        let message = try WireMessage.decode(frame: msgFrame(body))
        #expect(message.opMsg?.body == WireFixture.empty)
        #expect(message.opMsg?.documentSequences == [.init(identifier: "ids", documents: [a1])])
    }

    // MARK: - Flags

    @Test func unknownOptionalBitsAreIgnoredAndKept() throws {
        let flags = OpMsg.Flags(rawValue: 1 << 20 | 1 << 16)
        let message = try WireMessage.decode(frame: msgFrame(WireFixture.int32LE(Int32(flags.rawValue)) + [0] + a1))
        #expect(message.opMsg?.flags == flags)
    }

    @Test(arguments: [UInt32(1 << 2), 1 << 15, 0x0000_FFFC])
    func unknownRequiredBitsAreRejected(_ bits: UInt32) {
        let frame = msgFrame(WireFixture.int32LE(Int32(bitPattern: bits | 0b10)) + [0] + a1)
        #expect(throws: WireError(.unknownRequiredFlagBits(flagBits: bits | 0b10, unknown: bits))) {
            try WireMessage.decode(frame: frame)
        }
    }

    // MARK: - Checksum

    @Test func checksumIsWrittenOverTheWholeMessage() throws {
        let message = WireMessage(requestID: 5, payload: .msg(OpMsg(flags: .checksumPresent, body: a1)))
        let bytes = try message.encoded()
        #expect(bytes.count == 16 + 4 + 1 + a1.count + 4)
        #expect(WireFixture.int32LE(Int32(bytes.count)) == Array(bytes[0..<4]))
        let declared = bytes.suffix(4)
        #expect(Array(declared) == WireFixture.int32LE(Int32(bitPattern: CRC32C.checksum(bytes.dropLast(4)))))
    }

    @Test func checksumMismatchIsReported() throws {
        var bytes = try WireMessage(requestID: 5, payload: .msg(OpMsg(flags: .checksumPresent, body: a1))).encoded()
        bytes[bytes.count - 6] ^= 0x01 // inside the body document's int32 value
        let computed = CRC32C.checksum(bytes.dropLast(4))
        let declared = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8
            | UInt32(bytes[bytes.count - 2]) << 16 | UInt32(bytes[bytes.count - 1]) << 24
        let error = WireError(.checksumMismatch(computed: computed, declared: declared))
        #expect(throws: error) { try WireMessage.decode(frame: bytes) }
        #expect(error.description.hasPrefix("CRC-32C mismatch: computed 0x"))
        #expect(error.description.contains(", message says 0x"))
    }

    @Test func checksumFlagWithoutRoomForIt() {
        #expect(throws: WireError(.truncated(field: "OP_MSG checksum", needed: 4, available: 2))) {
            try WireMessage.decode(frame: msgFrame([1, 0, 0, 0, 0, 5]))
        }
    }

    // MARK: - Sections

    @Test func unknownSectionKind() {
        #expect(throws: WireError(.unknownSectionKind(3))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 3] + a1))
        }
        #expect(WireError(.unknownSectionKind(3)).description.hasPrefix("unknown section kind 3"))
    }

    @Test func bodyIsRequired() {
        #expect(throws: WireError(.missingBodySection)) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0]))
        }
        let sequenceOnly: [UInt8] = [0, 0, 0, 0, 1, 6, 0, 0, 0, 0x78, 0]
        #expect(throws: WireError(.missingBodySection)) {
            try WireMessage.decode(frame: msgFrame(sequenceOnly))
        }
    }

    @Test func onlyOneBodyIsAllowed() {
        #expect(throws: WireError(.multipleBodySections(count: 2))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + [0] + a1))
        }
    }

    @Test func sequenceIdentifiersMustBeUnique() throws {
        let sequence: [UInt8] = [1, 6, 0, 0, 0, 0x78, 0]
        #expect(throws: WireError(.duplicateSequenceIdentifier("x"))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + sequence + sequence))
        }
        let message = WireMessage(requestID: 1, payload: .msg(OpMsg(body: a1, documentSequences: [
            .init(identifier: "x", documents: []), .init(identifier: "x", documents: []),
        ])))
        #expect(throws: WireError(.duplicateSequenceIdentifier("x"))) { try message.encoded() }
    }

    @Test func sequenceSizeBounds() {
        #expect(throws: WireError(.sequenceSizeBelowMinimum(4))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + [1, 4, 0, 0, 0]))
        }
        #expect(throws: WireError(.sequenceSizeExceedsRemaining(50, remaining: 6))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + [1, 50, 0, 0, 0, 0x78, 0]))
        }
    }

    @Test func documentInsideASequenceMustFitIt() {
        // The sequence is 10 bytes (size, "x\0", 4 bytes left) but its document claims 12.
        let bytes: [UInt8] = [0, 0, 0, 0, 0] + a1 + [1, 10, 0, 0, 0, 0x78, 0] + Array(a1.prefix(4)) + Array(a1.dropFirst(4))
        #expect(throws: WireError(.documentLengthExceedsRemaining(12, remaining: 4, context: "document sequence \"x\""))) {
            try WireMessage.decode(frame: msgFrame(bytes))
        }
    }

    @Test func identifierMustBeATerminatedUTF8String() {
        #expect(throws: WireError(.unterminatedCString(field: "document sequence identifier", available: 2))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + [1, 6, 0, 0, 0, 0x78, 0x79]))
        }
        #expect(throws: WireError(.invalidUTF8(field: "document sequence identifier"))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + a1 + [1, 7, 0, 0, 0, 0xC3, 0x28, 0]))
        }
    }

    // MARK: - Document framing

    @Test func bodyLengthExceedingTheMessage() {
        let document = WireFixture.int32LE(300) + [UInt8](repeating: 1, count: 116)
        let error = WireError(.documentLengthExceedsRemaining(300, remaining: 120, context: "body section"))
        #expect(throws: error) { try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0] + document)) }
        #expect(error.description == "document length 300 exceeds the 120 bytes left in body section")
    }

    @Test func bodyLengthBelowFive() {
        #expect(throws: WireError(.documentLengthBelowMinimum(4, context: "body section"))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0, 4, 0, 0, 0]))
        }
        #expect(throws: WireError(.documentLengthBelowMinimum(-1, context: "body section"))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0]))
        }
    }

    @Test func bodyMustEndWithZero() {
        #expect(throws: WireError(.documentNotTerminated(length: 5, lastByte: 7, context: "body section"))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0, 5, 0, 0, 0, 7]))
        }
    }

    @Test func truncatedDocumentLength() {
        #expect(throws: WireError(.truncated(field: "document length in body section", needed: 4, available: 2))) {
            try WireMessage.decode(frame: msgFrame([0, 0, 0, 0, 0, 5, 0]))
        }
    }

    // MARK: - Encoding refuses bad input

    @Test func encodingChecksDocumentFraming() {
        let bad = WireMessage(requestID: 1, payload: .msg(OpMsg(body: [6, 0, 0, 0, 0])))
        #expect(throws: WireError(.documentLengthExceedsRemaining(6, remaining: 5, context: "body section"))) {
            try bad.encoded()
        }
        let trailing = WireMessage(requestID: 1, payload: .msg(OpMsg(body: WireFixture.empty + [0])))
        #expect(throws: WireError(.trailingBytes(count: 1, context: "the document in body section"))) {
            try trailing.encoded()
        }
    }

    @Test func encodingRefusesNulInIdentifier() {
        let message = WireMessage(requestID: 1, payload: .msg(OpMsg(body: a1, documentSequences: [
            .init(identifier: "a\u{0}b", documents: []),
        ])))
        #expect(throws: WireError(.cStringContainsNull(field: "document sequence identifier"))) {
            try message.encoded()
        }
    }
}
