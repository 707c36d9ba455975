import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Random and mutated inputs: each must end in a value or a typed error (never a trap), the
/// lazy view must agree with the decoder, and a decoded value must survive re-encoding.
@Suite struct BSONFuzzTests {
    static let seeds: [[UInt8]] = [
        everyTypeDocument.encoded(),
        helloReply.encoded(),
        BSONDocument().encoded(),
        (["a": .array([.document(["b": .array([.int32(1)])])]), "c": .string("")] as BSONDocument).encoded(),
        bsonBytes("1700000010666f6f000100000010666f6f000200000000"),
    ]

    static func mutate(_ seed: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = seed
        switch rng.next() % 7 {
        case 0:  // bit flips
            for _ in 0...(rng.next() % 4) where !bytes.isEmpty {
                let i = Int(rng.next() % UInt64(bytes.count))
                bytes[i] ^= 1 << UInt8(rng.next() % 8)
            }
        case 1:  // truncation
            bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
        case 2:  // a length-like field changed by a small amount or set to a random int32
            if bytes.count >= 4 {
                let i = Int(rng.next() % UInt64(bytes.count - 3))
                let old = Int32(bytes[i]) | Int32(bytes[i + 1]) << 8 | Int32(bytes[i + 2]) << 16 | Int32(bytes[i + 3]) << 24
                let new = rng.next() % 2 == 0 ? old &+ Int32(Int(rng.next() % 9) - 4) : Int32(truncatingIfNeeded: rng.next())
                for k in 0..<4 { bytes[i + k] = UInt8(truncatingIfNeeded: new >> (8 * Int32(k))) }
            }
        case 3:  // byte inserted or removed
            let i = Int(rng.next() % UInt64(bytes.count + 1))
            if rng.next() % 2 == 0 || bytes.isEmpty || i == bytes.count {
                bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
            } else {
                bytes.remove(at: i)
            }
        case 4:  // a type byte replaced: pick a byte and give it a random element type
            if !bytes.isEmpty {
                let types: [UInt8] = Array(0x00...0x14) + [0x7F, 0xFF]
                bytes[Int(rng.next() % UInt64(bytes.count))] = types[Int(rng.next() % UInt64(types.count))]
            }
        case 5:  // trailing garbage
            bytes += (0..<(1 + rng.next() % 4)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        default:  // pure noise with a plausible length header
            let count = Int(rng.next() % 64)
            bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if count >= 4 { bytes[0] = UInt8(count); bytes[1] = 0; bytes[2] = 0; bytes[3] = 0 }
        }
        return bytes
    }

    @Test func randomAndMutatedInputsNeverTrap() {
        var rng = SplitMix64(seed: 0x5EED_B50F)
        var decoded = 0
        var rejected = 0
        var failures: [String] = []
        for iteration in 0..<20_000 {
            let seed = Self.seeds[Int(rng.next() % UInt64(Self.seeds.count))]
            let input = Self.mutate(seed, &rng)
            let result = Result { () throws(BSONDecodingError) in try BSONDocument(bytes: input) }
            let viewResult = Result { () throws(BSONDecodingError) in try BSONDocumentView(bytes: input) }
            switch (result, viewResult) {
            case (.success(let document), .success(let view)):
                decoded += 1
                if view.document() != document { failures.append("#\(iteration): view differs from decoder") }
                let again = Result { () throws(BSONDecodingError) in try BSONDocument(bytes: document.encoded()) }
                if case .success(let reread) = again, reread == document {} else {
                    failures.append("#\(iteration): re-encoded value does not decode to itself: \(again)")
                }
            case (.failure(let error), .failure(let viewError)):
                rejected += 1
                if error != viewError { failures.append("#\(iteration): decoder says \(error), view says \(viewError)") }
                if error.offset < 0 || error.offset > input.count { failures.append("#\(iteration): offset out of range: \(error)") }
            default:
                failures.append("#\(iteration): decoder and view disagree on validity: \(result) / \(viewResult)")
            }
            if failures.count > 10 { break }
        }
        #expect(failures.isEmpty, "\(failures)")
        // The mutations must exercise both outcomes.
        #expect(decoded > 1000)
        #expect(rejected > 1000)
    }

    @Test func utf8ValidatorAgreesWithTheStandardLibrary() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<20_000 {
            let count = Int(rng.next() % 8)
            // Mostly high bytes, where the interesting cases are.
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() | (rng.next() % 4 == 0 ? 0 : 0x80)) }
            let expected = String(validating: bytes, as: UTF8.self) != nil
            if BSONParser.isValidUTF8(bytes[...]) != expected {
                Issue.record("validator disagrees on \(bytes)")
                return
            }
        }
    }
}
