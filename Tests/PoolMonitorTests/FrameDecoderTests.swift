import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct FrameDecoderTests {
    /// Three messages of different kinds, back to back, and the messages themselves.
    static let messages: [WireMessage] = [
        WireFixture.helloReply(requestID: 100, responseTo: 1),
        WireMessage(requestID: 101, responseTo: 1, payload: .msg(OpMsg(
            flags: [.checksumPresent, .moreToCome], body: WireFixture.document("ok", 1),
            documentSequences: [.init(identifier: "docs", documents: [WireFixture.empty, WireFixture.document("n", 2)])]))),
        WireMessage(requestID: 102, responseTo: 1, payload: .reply(OpReply(documents: [WireFixture.document("ismaster", 1)]))),
    ]
    static let stream: [UInt8] = messages.flatMap { try! $0.encoded() }

    /// Feeds `chunks` in order, draining after each, and returns every message produced.
    private func decode(_ chunks: [ArraySlice<UInt8>], into decoder: inout FrameDecoder) throws -> [WireMessage] {
        var out: [WireMessage] = []
        for chunk in chunks {
            decoder.append(chunk)
            while let message = try decoder.nextMessage() { out.append(message) }
        }
        return out
    }

    private func decode(_ chunks: [ArraySlice<UInt8>]) throws -> [WireMessage] {
        var decoder = FrameDecoder()
        let out = try decode(chunks, into: &decoder)
        #expect(decoder.bufferedByteCount == 0)
        return out
    }

    // MARK: - Chunking

    @Test func wholeStreamAtOnce() throws {
        #expect(try decode([Self.stream[...]]) == Self.messages)
    }

    @Test func everySingleSplitPoint() throws {
        let stream = Self.stream
        for cut in 0...stream.count {
            #expect(try decode([stream[..<cut], stream[cut...]]) == Self.messages, "cut at \(cut)")
        }
    }

    @Test func everyPairOfSplitPoints() throws {
        let stream = Self.stream
        for first in 0...stream.count {
            for second in first...stream.count {
                let chunks = [stream[..<first], stream[first..<second], stream[second...]]
                guard try decode(chunks) == Self.messages else {
                    Issue.record("cuts at \(first) and \(second) lost a message")
                    return
                }
            }
        }
    }

    @Test func oneByteAtATimeYieldsEachMessageOnItsLastByte() throws {
        var decoder = FrameDecoder()
        var ends: [Int] = []
        var produced: [WireMessage] = []
        for (offset, byte) in Self.stream.enumerated() {
            decoder.append(CollectionOfOne(byte))
            while let message = try decoder.nextMessage() {
                produced.append(message)
                ends.append(offset + 1)
            }
        }
        #expect(produced == Self.messages)
        let lengths = try Self.messages.map { try $0.encoded().count }
        #expect(ends == [lengths[0], lengths[0] + lengths[1], lengths[0] + lengths[1] + lengths[2]])
    }

    @Test func returnsNilUntilAMessageIsWhole() throws {
        var decoder = FrameDecoder()
        #expect(try decoder.nextMessage() == nil)
        decoder.append(Self.stream.prefix(20))
        #expect(try decoder.nextMessage() == nil)
        #expect(decoder.bufferedByteCount == 20)
    }

    // MARK: - Length limits

    @Test func lengthBelowHeaderFailsOnItsFourBytes() {
        var decoder = FrameDecoder()
        decoder.append([12, 0, 0])
        #expect(decoder.failure == nil)
        decoder.append([0])
        #expect(throws: WireError(.messageLengthBelowMinimum(12))) { try decoder.nextMessage() }
        #expect(decoder.bufferedByteCount == 0)
    }

    @Test func negativeLengthIsBelowTheMinimum() {
        var decoder = FrameDecoder()
        decoder.append([0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: WireError(.messageLengthBelowMinimum(-1))) { try decoder.nextMessage() }
    }

    @Test func lengthAboveMaximumFailsBeforeBuffering() {
        var decoder = FrameDecoder()
        decoder.append(WireFixture.int32LE(48_000_001))
        #expect(decoder.failure == WireError(.messageLengthAboveMaximum(48_000_001, maximum: 48_000_000)))
        decoder.append([UInt8](repeating: 0, count: 10_000))
        #expect(decoder.bufferedByteCount == 0, "a failed decoder buffers nothing more")
        #expect(throws: WireError(.messageLengthAboveMaximum(48_000_001, maximum: 48_000_000))) {
            try decoder.nextMessage()
        }
    }

    @Test func maximumIsSettableAfterTheHandshake() throws {
        let frame = try WireFixture.helloReply(requestID: 1, responseTo: 0).encoded()
        var small = FrameDecoder(maxMessageSizeBytes: frame.count - 1)
        small.append(frame)
        #expect(throws: WireError(.messageLengthAboveMaximum(Int32(frame.count), maximum: frame.count - 1))) {
            try small.nextMessage()
        }

        var decoder = FrameDecoder()
        decoder.append(frame)
        #expect(try decoder.nextMessage() != nil)
        decoder.maxMessageSizeBytes = 64_000_000
        decoder.append(WireFixture.int32LE(50_000_000))
        #expect(try decoder.nextMessage() == nil, "now within the raised limit: waits for the rest")
    }

    // MARK: - responseTo

    @Test func responseToMismatchFailsOnTheHeader() throws {
        var decoder = FrameDecoder(expectedResponseTo: 9)
        let frame = try WireFixture.helloReply(requestID: 3, responseTo: 7).encoded()
        decoder.append(frame.prefix(15))
        #expect(try decoder.nextMessage() == nil)
        decoder.append(frame[15..<16])
        #expect(throws: WireError(.responseToMismatch(received: 7, expected: 9))) { try decoder.nextMessage() }
    }

    @Test func responseToIsFollowedThroughAMoreToComeStream() throws {
        var decoder = FrameDecoder(expectedResponseTo: 1)
        let first = WireFixture.helloReply(requestID: 20, responseTo: 1, flags: .moreToCome)
        let second = WireFixture.helloReply(requestID: 21, responseTo: 20)
        decoder.append(try first.encoded() + second.encoded())
        let one = try #require(try decoder.nextMessage())
        #expect(one == first)
        decoder.expectedResponseTo = one.requestID
        #expect(try decoder.nextMessage() == second)
    }

    // MARK: - Failure is final

    @Test func staysFailedAndStampsTheServer() throws {
        var decoder = FrameDecoder(server: "127.0.0.1:27017")
        decoder.append(WireFixture.frame(opCode: 2013, body: [0, 0, 0, 0, 3]))
        let expected = WireError(.unknownSectionKind(3), server: "127.0.0.1:27017")
        #expect(throws: expected) { try decoder.nextMessage() }
        decoder.append(try WireFixture.helloReply(requestID: 1, responseTo: 0).encoded())
        #expect(throws: expected) { try decoder.nextMessage() }
        #expect(decoder.failure == expected)
        #expect(expected.description == "from 127.0.0.1:27017: unknown section kind 3 (expected 0 for a body or 1 for a document sequence)")
    }

    @Test func errorAfterGoodMessagesKeepsThoseMessages() throws {
        var decoder = FrameDecoder()
        decoder.append(Self.stream + WireFixture.frame(opCode: 2002, body: []))
        for message in Self.messages { #expect(try decoder.nextMessage() == message) }
        #expect(throws: WireError(.unsupportedOpCode(2002))) { try decoder.nextMessage() }
    }

    // MARK: - Buffering

    @Test func manySmallChunksKeepStorageBounded() throws {
        let frame = try WireFixture.helloReply(requestID: 1, responseTo: 0).encoded()
        let stream = [[UInt8]](repeating: frame, count: 5_000).flatMap { $0 }
        var decoder = FrameDecoder()
        var count = 0
        var largestStorage = 0
        var offset = 0
        while offset < stream.count {
            let end = min(offset + 7, stream.count)
            decoder.append(stream[offset..<end])
            offset = end
            while try decoder.nextMessage() != nil { count += 1 }
            largestStorage = max(largestStorage, decoder.storedByteCount)
        }
        #expect(count == 5_000)
        #expect(largestStorage <= 2 * (frame.count + 7), "consumed bytes are compacted away")
    }

    @Test func largeMessageInSmallChunks() throws {
        let body = WireFixture.document("x", text: String(repeating: "y", count: 300_000))
        let message = WireMessage(requestID: 1, payload: .msg(OpMsg(flags: .checksumPresent, body: body)))
        let frame = try message.encoded()
        var decoder = FrameDecoder()
        var produced: WireMessage?
        var offset = 0
        while offset < frame.count {
            let end = min(offset + 64, frame.count)
            decoder.append(frame[offset..<end])
            offset = end
            if let message = try decoder.nextMessage() { produced = message }
        }
        #expect(produced == message)
    }
}
