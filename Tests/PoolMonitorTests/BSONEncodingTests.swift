import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Bytes from hex digits (spaces allowed), for hand-made BSON in tests.
func bsonBytes(_ hex: String) -> [UInt8] {
    let digits = Array(hex.utf8.filter { $0 != UInt8(ascii: " ") })
    var out: [UInt8] = []
    var i = 0
    while i + 1 < digits.count {
        out.append(hexDigitValue(digits[i])! << 4 | hexDigitValue(digits[i + 1])!)
        i += 2
    }
    return out
}

/// A document holding every BSON type, deprecated ones included.
let everyTypeDocument: BSONDocument = [
    "double": .double(-1.5),
    "string": .string("héllo\u{0}wörld"),
    "document": .document(["inner": .int32(7)]),
    "array": .array([.int32(1), .string("two"), .array([])]),
    "binary": .binary(BSONBinary(subtype: 0x04, data: Array(0..<16))),
    "oldBinary": .binary(BSONBinary(subtype: 0x02, data: [0xFF, 0xFF])),
    "undefined": .undefined,
    "oid": .objectID(BSONObjectID(hex: "57e193d7a9cc81b4027498b5")!),
    "true": .bool(true),
    "false": .bool(false),
    "date": .datetime(1_356_351_330_501),
    "null": .null,
    "regex": .regex(BSONRegularExpression(pattern: "a.*b", options: "im")),
    "dbPointer": .dbPointer(BSONDBPointer(ref: "db.coll", id: BSONObjectID(hex: "56e1fc72e0c917e9c4714161")!)),
    "code": .javascript("function() {}"),
    "symbol": .symbol("sym"),
    "codeWithScope": .javascriptWithScope(BSONCodeWithScope(code: "x", scope: ["x": .int64(1)])),
    "int32": .int32(-42),
    "timestamp": .timestamp(BSONTimestamp(timestamp: 4_294_967_295, increment: 1)),
    "int64": .int64(.min),
    "decimal": .decimal128(BSONDecimal128(string: "1234.5")!),
    "minKey": .minKey,
    "maxKey": .maxKey,
]

@Suite struct BSONEncodingTests {
    @Test func encodesTheSpecLayout() {
        let document: BSONDocument = ["a": .int32(1)]
        #expect(document.encoded() == bsonBytes("0C000000 10 6100 01000000 00"))
        #expect(BSONDocument().encoded() == bsonBytes("05000000 00"))
    }

    @Test func everyTypeRoundTrips() throws {
        let bytes = everyTypeDocument.encoded()
        #expect(Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 == bytes.count)
        let decoded = try BSONDocument(bytes: bytes)
        #expect(decoded == everyTypeDocument)
        #expect(decoded.encoded() == bytes)
    }

    @Test func encodeIntoAppends() {
        var buffer: [UInt8] = [0xAA]
        let document: BSONDocument = ["a": .null]
        document.encode(into: &buffer)
        #expect(buffer == [0xAA] + document.encoded())
    }

    @Test func arraysGetIndexKeysAndOldBinaryItsInnerLength() {
        let document: BSONDocument = ["a": .array([.bool(true), .bool(false)]), "b": .binary(BSONBinary(subtype: 2, data: [0xFF]))]
        #expect(document.encoded() == bsonBytes(
            "22000000 04 6100 0D000000 08 3000 01 08 3100 00 00 05 6200 05000000 02 01000000 FF 00"))
    }

    @Test func regexOptionsAreWrittenSorted() throws {
        let document: BSONDocument = ["r": .regex(BSONRegularExpression(pattern: "p", options: "xmi"))]
        #expect(document.encoded() == bsonBytes("0E000000 0B 7200 7000 696D78 00 00"))
    }

    @Test func duplicateKeysArePreservedInOrder() throws {
        // bson-corpus prose test 2: both values kept, in order; lookup finds the first.
        let data = bsonBytes("1700000010666f6f000100000010666f6f000200000000")
        let document = try BSONDocument(bytes: data)
        #expect(document.elements.map(\.key) == ["foo", "foo"])
        #expect(document["foo"] == .int32(1))
        #expect(document.encoded() == data)
    }

    @Test(arguments: [
        (["a\u{0}b": .null] as BSONDocument, "a\u{0}b"),
        (["sub": .document(["k\u{0}": .null])] as BSONDocument, "sub.k\u{0}"),
        (["r": .regex(BSONRegularExpression(pattern: "a\u{0}", options: ""))] as BSONDocument, "r"),
        (["r": .regex(BSONRegularExpression(pattern: "a", options: "i\u{0}"))] as BSONDocument, "r"),
    ])
    func nulInsideACStringIsRejected(document: BSONDocument, path: String) {
        // bson-corpus prose test 1.
        #expect(throws: BSONEncodingError.self) { try document.validateForEncoding() }
        #expect((try? document.validateForEncoding()) == nil)
        do {
            try document.validateForEncoding()
        } catch {
            #expect(error.path == path)
        }
    }

    @Test func validDocumentsPassTheEncodingCheck() throws {
        try everyTypeDocument.validateForEncoding()
    }
}
