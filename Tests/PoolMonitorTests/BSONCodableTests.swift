import Testing
@testable import MongoBSON

/// An application's own types to and from BSON documents.
@Suite struct BSONCodableTests {
    struct Address: Codable, Equatable {
        var city: String
        var zip: Int32
    }

    enum Kind: String, Codable { case person, company }

    struct Person: Codable, Equatable {
        var _id: BSONObjectID
        var name: String
        var age: Int
        var visits: Int64
        var score: Double
        var active: Bool
        var tags: [String]
        var address: Address
        var kind: Kind
        var nickname: String?
        var extra: BSONDocument
    }

    static let person = Person(
        _id: BSONObjectID(bytes: Array(repeating: 1, count: 12))!, name: "Ada", age: 36, visits: 5_000_000_000, score: 9.5,
        active: true, tags: ["math", "engines"], address: Address(city: "London", zip: 1815), kind: .person, nickname: nil,
        extra: ["note": "kept as it is"])

    @Test("a struct round-trips through a document, field order and BSON types as written")
    func roundTrip() throws {
        let document = try BSONEncoder().encode(Self.person)
        #expect(document.keys == ["_id", "name", "age", "visits", "score", "active", "tags", "address", "kind", "extra"],
                "nil optionals are left out")
        #expect(document["_id"] == .objectID(Self.person._id))
        #expect(document["age"] == .int32(36), "Int as int32 when it fits")
        #expect(document["visits"] == .int64(5_000_000_000))
        #expect(document["tags"] == ["math", "engines"])
        #expect(document["address"] == ["city": "London", "zip": .int32(1815)])
        #expect(document["kind"] == "person")
        #expect(document["extra"] == ["note": "kept as it is"])
        let decoded = try BSONDecoder().decode(Person.self, from: document)
        #expect(decoded == Self.person)
        // And through the wire format.
        let reparsed = try BSONDocument(bytes: document.encoded())
        #expect(try BSONDecoder().decode(Person.self, from: reparsed) == Self.person)
    }

    @Test("numbers decode across BSON's numeric types when the value fits")
    func numericConversions() throws {
        struct Counts: Decodable, Equatable { var n: Int; var ratio: Double; var small: Int8 }
        let counts = try BSONDecoder().decode(Counts.self, from: ["n": .int64(7), "ratio": .int32(2), "small": .double(3)])
        #expect(counts == Counts(n: 7, ratio: 2, small: 3))
        #expect(throws: DecodingError.self) { try BSONDecoder().decode(Counts.self, from: ["n": 1, "ratio": 1, "small": 300]) }
    }

    @Test("a document that does not fit the type says where and what")
    func errorsNameThePath() {
        struct Reply: Decodable { var ok: Double; var cursor: Cursor }
        struct Cursor: Decodable { var id: Int64; var ns: String }
        do {
            _ = try BSONDecoder().decode(Reply.self, from: ["ok": 1.0, "cursor": ["id": .int64(0), "ns": 5]])
            Issue.record("decoded a number as a string")
        } catch let DecodingError.typeMismatch(_, context) {
            #expect(context.codingPath.map(\.stringValue) == ["cursor", "ns"])
            #expect(context.debugDescription.contains("expected String"), "\(context.debugDescription)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        do {
            _ = try BSONDecoder().decode(Reply.self, from: ["ok": 1.0])
            Issue.record("decoded without cursor")
        } catch let DecodingError.keyNotFound(key, _) {
            #expect(key.stringValue == "cursor")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("the top level must be a document")
    func topLevelMustBeADocument() {
        #expect(throws: EncodingError.self) { try BSONEncoder().encode([1, 2, 3]) }
        #expect(throws: EncodingError.self) { try BSONEncoder().encode("just a string") }
    }
}
