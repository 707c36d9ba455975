/// Literals for BSON values, as swift-bson and MongoKitten users write them:
/// `["insert": "things", "documents": [["x": 1]]]` is a `BSONDocument`. Integer literals become
/// `int32` when they fit and `int64` otherwise (what the shell and the other drivers send),
/// floating-point literals `double`, `nil` the BSON null.
extension BSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }

    public init(integerLiteral value: Int64) {
        self = Int32(exactly: value).map(BSON.int32) ?? .int64(value)
    }

    public init(floatLiteral value: Double) { self = .double(value) }

    public init(booleanLiteral value: Bool) { self = .bool(value) }

    public init(arrayLiteral elements: BSON...) { self = .array(elements) }

    public init(dictionaryLiteral elements: (String, BSON)...) {
        var document = BSONDocument()
        for (key, value) in elements { document.append(key, value) }
        self = .document(document)
    }

    public init(nilLiteral: ()) { self = .null }
}

/// A value prints as relaxed Extended JSON (`{"ok": 1.0}`), the form the shell and the other
/// drivers' documentation show, instead of the enum's structure.
extension BSON: CustomStringConvertible {
    public var description: String { relaxedExtendedJSON() }
}

extension BSONDocument: CustomStringConvertible {
    public var description: String { relaxedExtendedJSON() }
}
