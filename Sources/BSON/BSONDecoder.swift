/// Decodes an application's `Decodable` types from BSON documents (the inverse of
/// `BSONEncoder`).
///
/// Integers decode from `int32`, `int64` or an integral `double` when the value fits the type;
/// floating-point types from any BSON number; a missing key or BSON null is `nil` for an
/// optional. Mismatches throw `DecodingError` with the coding path and what was expected and
/// found, so a reply that does not fit the type says where.
public struct BSONDecoder: Sendable {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from document: BSONDocument) throws -> T {
        try Self.decode(type, from: .document(document), at: [])
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: BSON, at path: [any CodingKey]) throws -> T {
        if let native = Self.native(type, from: value) { return native }
        return try T(from: DecoderBox(value: value, codingPath: path))
    }

    /// Values that are BSON already, taken as they are.
    static func native<T>(_ type: T.Type, from value: BSON) -> T? {
        switch value {
        case _ where type == BSON.self: return value as? T
        case .document(let document) where type == BSONDocument.self: return document as? T
        case .objectID(let id) where type == BSONObjectID.self: return id as? T
        case .decimal128(let decimal) where type == BSONDecimal128.self: return decimal as? T
        case .binary(let binary) where type == BSONBinary.self: return binary as? T
        case .timestamp(let timestamp) where type == BSONTimestamp.self: return timestamp as? T
        case .regex(let regex) where type == BSONRegularExpression.self: return regex as? T
        default: return nil
        }
    }
}

final class DecoderBox: Decoder {
    let value: BSON
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: BSON, codingPath: [any CodingKey]) {
        self.value = value
        self.codingPath = codingPath
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .document(let document) = value else {
            throw DecodingError.typeMismatch(BSONDocument.self, .init(codingPath: codingPath, debugDescription: "expected a document, found \(Self.kind(value))"))
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(document: document, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw DecodingError.typeMismatch([BSON].self, .init(codingPath: codingPath, debugDescription: "expected an array, found \(Self.kind(value))"))
        }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, codingPath: codingPath)
    }

    static func kind(_ value: BSON) -> String {
        switch value {
        case .document: "a document"
        case .array: "an array"
        case .string: "a string"
        case .bool: "a boolean"
        case .int32: "an int32"
        case .int64: "an int64"
        case .double: "a double"
        case .null: "null"
        default: "\(value)"
        }
    }

    /// Decodes one primitive from `value`, with the conversions the type allows.
    static func primitive<T>(_ type: T.Type, from value: BSON, at path: [any CodingKey]) throws -> T {
        func mismatch() -> DecodingError {
            .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(kind(value))"))
        }
        switch type {
        case is Bool.Type:
            guard case .bool(let b) = value else { throw mismatch() }
            return b as! T
        case is String.Type:
            guard case .string(let s) = value else { throw mismatch() }
            return s as! T
        case is Double.Type, is Float.Type:
            let number: Double
            switch value {
            case .double(let d): number = d
            case .int32(let i): number = Double(i)
            case .int64(let i): number = Double(i)
            default: throw mismatch()
            }
            return (type == Float.self ? Float(number) as Any : number as Any) as! T
        default:
            throw mismatch()
        }
    }

    static func integer<T: FixedWidthInteger>(_ type: T.Type, from value: BSON, at path: [any CodingKey]) throws -> T {
        let result: T?
        switch value {
        case .int32(let i): result = T(exactly: i)
        case .int64(let i): result = T(exactly: i)
        case .double(let d): result = d.isFinite ? T(exactly: d) : nil
        default:
            throw DecodingError.typeMismatch(type, .init(codingPath: path, debugDescription: "expected an integer (\(type)), found \(kind(value))"))
        }
        guard let result else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(value) does not fit in \(type)"))
        }
        return result
    }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let document: BSONDocument
        let codingPath: [any CodingKey]

        var allKeys: [Key] { document.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { document[key.stringValue] != nil }

        private func value(_ key: Key) throws -> BSON {
            guard let value = document[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no field '\(key.stringValue)' in the document"))
            }
            return value
        }

        func decodeNil(forKey key: Key) throws -> Bool { document[key.stringValue] == .null }
        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try DecoderBox.primitive(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: String.Type, forKey key: Key) throws -> String { try DecoderBox.primitive(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try DecoderBox.primitive(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try DecoderBox.primitive(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try DecoderBox.integer(type, from: value(key), at: codingPath + [key]) }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try BSONDecoder.decode(type, from: value(key), at: codingPath + [key])
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try DecoderBox(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try DecoderBox(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
        }

        func superDecoder() throws -> any Decoder { DecoderBox(value: document["super"] ?? .null, codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { DecoderBox(value: document[key.stringValue] ?? .null, codingPath: codingPath + [key]) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let elements: [BSON]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { elements.count }
        var isAtEnd: Bool { currentIndex >= elements.count }

        init(elements: [BSON], codingPath: [any CodingKey]) {
            self.elements = elements
            self.codingPath = codingPath
        }

        private mutating func next<T>(_ type: T.Type) throws -> (BSON, [any CodingKey]) {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(type, .init(codingPath: codingPath + [IndexKey(intValue: currentIndex)], debugDescription: "the array has only \(elements.count) elements"))
            }
            defer { currentIndex += 1 }
            return (elements[currentIndex], codingPath + [IndexKey(intValue: currentIndex)])
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, elements[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, p) = try next(type); return try DecoderBox.primitive(type, from: v, at: p) }
        mutating func decode(_ type: String.Type) throws -> String { let (v, p) = try next(type); return try DecoderBox.primitive(type, from: v, at: p) }
        mutating func decode(_ type: Double.Type) throws -> Double { let (v, p) = try next(type); return try DecoderBox.primitive(type, from: v, at: p) }
        mutating func decode(_ type: Float.Type) throws -> Float { let (v, p) = try next(type); return try DecoderBox.primitive(type, from: v, at: p) }
        mutating func decode(_ type: Int.Type) throws -> Int { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: Int8.Type) throws -> Int8 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: Int16.Type) throws -> Int16 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: Int32.Type) throws -> Int32 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: Int64.Type) throws -> Int64 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: UInt.Type) throws -> UInt { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let (v, p) = try next(type); return try DecoderBox.integer(type, from: v, at: p) }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { let (v, p) = try next(type); return try BSONDecoder.decode(type, from: v, at: p) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            let (v, p) = try next(BSONDocument.self)
            return try DecoderBox(value: v, codingPath: p).container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            let (v, p) = try next([BSON].self)
            return try DecoderBox(value: v, codingPath: p).unkeyedContainer()
        }

        mutating func superDecoder() throws -> any Decoder {
            let (v, p) = try next(BSON.self)
            return DecoderBox(value: v, codingPath: p)
        }
    }

    struct SingleValueContainer: SingleValueDecodingContainer {
        let value: BSON
        let codingPath: [any CodingKey]

        func decodeNil() -> Bool { value == .null }
        func decode(_ type: Bool.Type) throws -> Bool { try DecoderBox.primitive(type, from: value, at: codingPath) }
        func decode(_ type: String.Type) throws -> String { try DecoderBox.primitive(type, from: value, at: codingPath) }
        func decode(_ type: Double.Type) throws -> Double { try DecoderBox.primitive(type, from: value, at: codingPath) }
        func decode(_ type: Float.Type) throws -> Float { try DecoderBox.primitive(type, from: value, at: codingPath) }
        func decode(_ type: Int.Type) throws -> Int { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: Int8.Type) throws -> Int8 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: Int16.Type) throws -> Int16 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: Int32.Type) throws -> Int32 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: Int64.Type) throws -> Int64 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: UInt.Type) throws -> UInt { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: UInt8.Type) throws -> UInt8 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: UInt16.Type) throws -> UInt16 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: UInt32.Type) throws -> UInt32 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode(_ type: UInt64.Type) throws -> UInt64 { try DecoderBox.integer(type, from: value, at: codingPath) }
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try BSONDecoder.decode(type, from: value, at: codingPath) }
    }
}
