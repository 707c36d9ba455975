import Testing
@testable import MongoBSON

/// BSON as users write it: literals, and values that print as relaxed Extended JSON.
@Suite struct BSONLiteralTests {
    @Test("a command written with literals is the same document as one spelled with cases")
    func literalsMatchExplicitCases() throws {
        let literal: BSONDocument = ["insert": "things", "documents": [["x": 1, "big": 5_000_000_000, "pi": 3.5, "ok": true, "none": nil]]]
        let spelled: BSONDocument = [
            "insert": .string("things"),
            "documents": .array([.document([
                "x": .int32(1), "big": .int64(5_000_000_000), "pi": .double(3.5), "ok": .bool(true), "none": .null,
            ])]),
        ]
        #expect(literal == spelled)
        #expect(literal.encoded() == spelled.encoded(), "the same bytes on the wire")
    }

    @Test("documents and values print as relaxed Extended JSON")
    func descriptionIsRelaxedExtendedJSON() {
        let reply: BSONDocument = ["ok": 1.0, "n": 2, "name": "a\"b"]
        #expect("\(reply)" == reply.relaxedExtendedJSON())
        #expect("\(reply)".contains("\"ok\""), "\(reply)")
        #expect(!"\(reply)".contains("BSONDocument("), "no enum dump: \(reply)")
        let value: BSON = ["x": [1, 2]]
        #expect(value.description == value.relaxedExtendedJSON())
    }
}
