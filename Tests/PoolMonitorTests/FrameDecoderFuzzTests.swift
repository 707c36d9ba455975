import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Seeded fuzzing of the frame decoder and message decoder: random and mutated frames, fed in
/// random chunks, must end in whole messages or a typed `WireError`, never a trap or a hang.
@Suite struct FrameDecoderFuzzTests {
    static let iterations = 20_000

    @Test func randomAndMutatedFramesEndInMessagesOrTypedErrors() throws {
        var rng = SplitMix64(seed: 0x5EED_CAFE)
        var messagesDecoded = 0
        var errors = 0
        for iteration in 0..<Self.iterations {
            let bytes: [UInt8]
            switch iteration % 4 {
            case 0: bytes = Self.randomBytes(&rng)
            case 1: bytes = try Self.randomMessage(&rng).encoded() + Self.mutate(try Self.randomMessage(&rng).encoded(), &rng)
            default: bytes = Self.mutate(try Self.randomMessage(&rng).encoded(), &rng)
            }
            var decoder = FrameDecoder(maxMessageSizeBytes: 4096, expectedResponseTo: rng.next() % 8 == 0 ? 0 : nil)
            var offset = 0
            var steps = 0
            feeding: while offset < bytes.count {
                let end = min(bytes.count, offset + 1 + Int(rng.next() % 40))
                decoder.append(bytes[offset..<end])
                offset = end
                do {
                    while let message = try decoder.nextMessage() {
                        messagesDecoded += 1
                        Self.expectStableReencoding(message)
                        steps += 1
                        if steps > bytes.count { Issue.record("decoder did not consume input"); return }
                    }
                } catch {
                    errors += 1
                    #expect(decoder.failure == error)
                    break feeding
                }
            }
            // Direct decoding of the same bytes as one frame must also end cleanly.
            if let message = try? WireMessage.decode(frame: bytes) {
                Self.expectStableReencoding(message)
            }
        }
        // Both outcomes must actually be exercised, or the fuzzer is not testing anything.
        #expect(messagesDecoded > Self.iterations / 10)
        #expect(errors > Self.iterations / 10)
    }

    @Test func unmutatedRandomMessagesRoundTripThroughTheDecoder() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let messages = try (0..<3).map { _ in try Self.randomMessage(&rng) }
            let stream = try messages.flatMap { try $0.encoded() }
            var decoder = FrameDecoder()
            var produced: [WireMessage] = []
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + 1 + Int(rng.next() % 64))
                decoder.append(stream[offset..<end])
                offset = end
                while let message = try decoder.nextMessage() { produced.append(message) }
            }
            #expect(produced == messages)
        }
    }

    // MARK: - Generators

    /// Whatever decodes must re-encode, and decode again to the same value.
    private static func expectStableReencoding(_ message: WireMessage) {
        do {
            #expect(try WireMessage.decode(frame: try message.encoded()) == message)
        } catch {
            Issue.record("decoded message does not re-encode: \(error)")
        }
    }

    private static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        let count = Int(rng.next() % 80)
        var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        // Often start with a plausible length so that the body parsers are reached.
        if count >= 16, rng.next() % 2 == 0 {
            bytes.replaceSubrange(0..<4, with: WireFixture.int32LE(Int32(count)))
            let opCodes: [Int32] = [1, 2004, 2012, 2013]
            bytes.replaceSubrange(12..<16, with: WireFixture.int32LE(opCodes[Int(rng.next() % 4)]))
        }
        return bytes
    }

    private static func randomDocument(_ rng: inout SplitMix64) -> [UInt8] {
        switch rng.next() % 3 {
        case 0: return WireFixture.empty
        case 1: return WireFixture.document("k", Int32(truncatingIfNeeded: rng.next()))
        default: return WireFixture.document("s", text: String(repeating: "z", count: Int(rng.next() % 20)))
        }
    }

    static func randomMessage(_ rng: inout SplitMix64) throws -> WireMessage {
        let requestID = Int32(truncatingIfNeeded: rng.next())
        let responseTo = Int32(truncatingIfNeeded: rng.next() % 4)
        switch rng.next() % 3 {
        case 0:
            var flags: OpMsg.Flags = []
            if rng.next() % 2 == 0 { flags.insert(.checksumPresent) }
            if rng.next() % 3 == 0 { flags.insert(.moreToCome) }
            if rng.next() % 3 == 0 { flags.insert(.exhaustAllowed) }
            let sequences = (0..<Int(rng.next() % 3)).map { index in
                OpMsg.DocumentSequence(identifier: "seq\(index)",
                                       documents: (0..<Int(rng.next() % 3)).map { _ in randomDocument(&rng) })
            }
            return WireMessage(requestID: requestID, responseTo: responseTo,
                               payload: .msg(OpMsg(flags: flags, body: randomDocument(&rng), documentSequences: sequences)))
        case 1:
            let documents = (0..<Int(rng.next() % 3)).map { _ in randomDocument(&rng) }
            return WireMessage(requestID: requestID, responseTo: responseTo, payload: .reply(OpReply(
                responseFlags: OpReply.Flags(rawValue: Int32(rng.next() % 16)), cursorID: Int64(truncatingIfNeeded: rng.next()),
                documents: documents)))
        default:
            return WireMessage(requestID: requestID, payload: .query(OpQuery(
                fullCollectionName: "admin.$cmd", query: randomDocument(&rng),
                returnFieldsSelector: rng.next() % 2 == 0 ? nil : randomDocument(&rng))))
        }
    }

    /// One to three mutations: bit flips, truncation, insertions, or an int32 overwritten with a
    /// boundary value (lengths ± 1, 0, 4, 5, 16, -1, Int32.max).
    private static func mutate(_ frame: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = frame
        for _ in 0...Int(rng.next() % 3) where !bytes.isEmpty {
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 5 {
            case 0:
                bytes[at] ^= UInt8(1) << (rng.next() % 8)
            case 1:
                bytes.removeSubrange(at...)
            case 2:
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: at)
            case 3:
                bytes.remove(at: at)
            default:
                guard at + 4 <= bytes.count else { continue }
                let current = Int32(bitPattern: bytes.loadUInt32LE(at: at))
                let values: [Int32] = [0, 4, 5, 16, -1, .max, current &+ 1, current &- 1, Int32(bytes.count - at)]
                bytes.replaceSubrange(at..<(at + 4), with: WireFixture.int32LE(values[Int(rng.next() % UInt64(values.count))]))
            }
        }
        return bytes
    }
}
