import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// One hand-made bad input per validation rule of the decoder, with the typed error it must
/// produce (kind and byte offset). The lazy view must reject it identically.
@Suite struct BSONDecodingValidationTests {
    struct BadInput: CustomTestStringConvertible, Sendable {
        var name: String
        var hex: String
        var kind: BSONDecodingError.Kind
        var offset: Int
        var maxDepth = BSONDocument.defaultMaxDepth
        var testDescription: String { name }
    }

    static let cases: [BadInput] = [
        BadInput(name: "empty input", hex: "", kind: .truncated, offset: 0),
        BadInput(name: "length below 5", hex: "04000000", kind: .invalidLength, offset: 0),
        BadInput(name: "negative length", hex: "FFFFFFFF00", kind: .invalidLength, offset: 0),
        BadInput(name: "length beyond the input", hex: "0600000000", kind: .invalidLength, offset: 0),
        BadInput(name: "trailing bytes", hex: "0500000000 00", kind: .trailingBytes, offset: 5),
        BadInput(name: "document not ending in 0x00", hex: "0500000001", kind: .missingTerminator, offset: 4),
        BadInput(name: "end marker before declared length", hex: "0600000000 00", kind: .invalidLength, offset: 4),
        BadInput(name: "unknown type byte", hex: "08000000 20 6100 00", kind: .unknownType, offset: 4),
        BadInput(name: "unknown type byte 0x14", hex: "08000000 14 6100 00", kind: .unknownType, offset: 4),
        BadInput(name: "key without NUL", hex: "08000000 10 6161 00", kind: .missingTerminator, offset: 5),
        BadInput(name: "key not UTF-8", hex: "0C000000 10 FF00 01000000 00", kind: .invalidUTF8, offset: 5),
        BadInput(name: "int32 truncated", hex: "0A000000 10 6100 0100 00", kind: .truncated, offset: 7),
        BadInput(name: "string length 0", hex: "0C000000 02 6100 00000000 00", kind: .invalidLength, offset: 7),
        BadInput(name: "string length negative", hex: "0C000000 02 6100 FFFFFFFF 00", kind: .invalidLength, offset: 7),
        BadInput(name: "string length beyond the document", hex: "0E000000 02 6100 09000000 6200 00", kind: .invalidLength, offset: 7),
        BadInput(name: "string without trailing NUL", hex: "0E000000 02 6100 02000000 6262 00", kind: .missingTerminator, offset: 12),
        BadInput(name: "string not UTF-8", hex: "0E000000 02 6100 02000000 FF00 00", kind: .invalidUTF8, offset: 11),
        BadInput(name: "surrogate in string", hex: "10000000 02 6100 04000000 EDA08000 00", kind: .invalidUTF8, offset: 11),
        BadInput(name: "overlong in string", hex: "0F000000 02 6100 03000000 C0AF00 00", kind: .invalidUTF8, offset: 11),
        BadInput(name: "regex pattern not UTF-8", hex: "0B000000 0B 6100 FF00 00 00", kind: .invalidUTF8, offset: 7),
        BadInput(name: "regex options without NUL", hex: "0B000000 0B 6100 6100 69 00", kind: .missingTerminator, offset: 9),
        BadInput(name: "boolean 2", hex: "09000000 08 6100 02 00", kind: .invalidBoolean, offset: 7),
        BadInput(name: "binary negative length", hex: "0D000000 05 7800 FFFFFFFF 00 00", kind: .invalidLength, offset: 7),
        BadInput(name: "binary subtype 2 inner length too long", hex: "13000000 05 7800 06000000 02 03000000 FFFF 00",
                 kind: .invalidBinaryOldFormat, offset: 12),
        BadInput(name: "binary subtype 2 without room for inner length", hex: "0F000000 05 7800 02000000 02 FFFF 00",
                 kind: .invalidBinaryOldFormat, offset: 12),
        BadInput(name: "code with scope longer than its parts", hex: "17000000 0F 6100 0F000000 01000000 00 05000000 00 00 00",
                 kind: .invalidCodeWithScope, offset: 7),
        BadInput(name: "code with scope below minimum", hex: "10000000 0F 6100 04000000 00000000 00",
                 kind: .invalidCodeWithScope, offset: 7),
        BadInput(name: "nesting deeper than maxDepth", hex: "15000000 03 6100 0D000000 03 6200 0500000000 00 00",
                 kind: .nestingTooDeep, offset: 14, maxDepth: 2),
        BadInput(name: "sub-document longer than its parent", hex: "0D000000 03 6100 09000000 00 00",
                 kind: .invalidLength, offset: 7),
    ]

    @Test(arguments: cases)
    func rejectsWithTheTypedError(_ input: BadInput) {
        let bytes = bsonBytes(input.hex)
        do {
            let document = try BSONDocument(bytes: bytes, maxDepth: input.maxDepth)
            Issue.record("decoded \(document.canonicalExtendedJSON()), expected \(input.kind)")
        } catch {
            #expect(error.kind == input.kind, "\(error)")
            #expect(error.offset == input.offset, "\(error)")
            #expect(error.description.contains("at byte \(input.offset)"))
        }
        #expect(throws: BSONDecodingError.self) { try BSONDocumentView(bytes: bytes, maxDepth: input.maxDepth) }
    }

    @Test func nestingUpToMaxDepthIsAccepted() throws {
        let bytes = bsonBytes("15000000 03 6100 0D000000 03 6200 0500000000 00 00")
        #expect(try BSONDocument(bytes: bytes, maxDepth: 3)["a"] == .document(["b": .document([:])]))
    }

    @Test func hostileNestingEndsInAnErrorNotAStackOverflow() {
        // 10,000 documents nested under empty keys, every length right: level i (0 outermost)
        // is 5 + 7 * (levels - i) bytes.
        let levels = 10_000
        var bytes: [UInt8] = []
        for level in 0..<levels {
            let length = 5 + 7 * (levels - level)
            bytes += [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), 0, 0x03, 0x00]
        }
        bytes += [5, 0, 0, 0, 0] + [UInt8](repeating: 0, count: levels)
        do {
            _ = try BSONDocument(bytes: bytes)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .nestingTooDeep)
            #expect(error.offset == 6 * BSONDocument.defaultMaxDepth)
        }
        #expect(throws: BSONDecodingError.self) { try BSONDocumentView(bytes: bytes) }
    }

    @Test func errorsOffsetsCountFromTheSliceStart() {
        let buffer = bsonBytes("AAAA 09000000 08 6100 02 00")
        do {
            _ = try BSONDocument(bytes: buffer[2...])
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .invalidBoolean)
            #expect(error.offset == 7)
            #expect(error.expected.contains("0x00 or 0x01"))
            #expect(error.found == "0x02")
        }
    }

    @Test func degenerateArrayKeysAreAccepted() throws {
        // Array keys other than "0", "1", ... are readable (bson-corpus degenerate BSON).
        let bytes = bsonBytes("150000000461000D000000106162000A0000000000")
        #expect(try BSONDocument(bytes: bytes)["a"] == .array([.int32(10)]))
    }
}
