/// Encodes an application's `Encodable` types as BSON documents, and decodes them back with
/// `BSONDecoder`.
///
/// Integers become `int32` when they fit and `int64` otherwise (as the literals do); `Float`
/// and `Double` become `double`; `nil` optionals are left out (`encodeIfPresent`), explicit nils
/// are BSON null; values that are already BSON (`BSON`, `BSONDocument`, `BSONObjectID`,
/// `BSONDecimal128`, ...) are kept as they are. The top-level value must encode as a document
/// (a keyed container). Pure Swift: no Foundation, so `Date` and `Data` are not special-cased
/// (encode a `BSON.datetime` or `BSONBinary` for those).
public struct BSONEncoder: Sendable {
    public init() {}

    /// - Throws: `EncodingError.invalidValue` when the value does not encode as a document, or
    ///   holds an unsigned integer larger than Int64.max.
    public func encode<T: Encodable>(_ value: T) throws -> BSONDocument {
        let encoded = try Self.bson(for: value, at: [])
        guard case .document(let document) = encoded else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "expected a value that encodes as a document (a keyed container), got \(Self.typeName(of: encoded))"))
        }
        return document
    }

    static func bson<T: Encodable>(for value: T, at path: [any CodingKey]) throws -> BSON {
        if let native = BSON.native(value) { return native }
        let encoder = EncoderBox(codingPath: path)
        try value.encode(to: encoder)
        return encoder.storage?.value ?? .document(BSONDocument())
    }

    static func typeName(of value: BSON) -> String {
        switch value {
        case .document: "a document"
        case .array: "an array"
        default: "a single value"
        }
    }
}

extension BSON {
    /// Values that are BSON already, kept as they are.
    static func native(_ value: Any) -> BSON? {
        switch value {
        case let value as BSON: value
        case let value as BSONDocument: .document(value)
        case let value as BSONObjectID: .objectID(value)
        case let value as BSONDecimal128: .decimal128(value)
        case let value as BSONBinary: .binary(value)
        case let value as BSONTimestamp: .timestamp(value)
        case let value as BSONRegularExpression: .regex(value)
        default: nil
        }
    }

    static func integer<T: BinaryInteger>(_ value: T, at path: [any CodingKey]) throws -> BSON {
        if let small = Int32(exactly: value) { return .int32(small) }
        if let large = Int64(exactly: value) { return .int64(large) }
        throw EncodingError.invalidValue(value, .init(codingPath: path, debugDescription: "\(value) does not fit in a BSON int64"))
    }
}

// MARK: - Storage

/// What an encoder produced: a value, or a keyed or unkeyed container still being filled.
/// Reference types, because nested containers are filled after they are handed out.
final class EncodedStorage {
    enum Kind {
        case value(BSON)
        case keyed([(String, EncodedStorage)])
        case unkeyed([EncodedStorage])
    }

    var kind: Kind

    init(_ kind: Kind) { self.kind = kind }

    var value: BSON {
        switch kind {
        case .value(let value):
            return value
        case .keyed(let fields):
            var document = BSONDocument()
            for (key, storage) in fields { document.append(key, storage.value) }
            return .document(document)
        case .unkeyed(let elements):
            return .array(elements.map(\.value))
        }
    }

    func appendKeyed(_ key: String, _ storage: EncodedStorage) {
        guard case .keyed(var fields) = kind else { return }
        if let index = fields.firstIndex(where: { $0.0 == key }) {
            fields[index].1 = storage
        } else {
            fields.append((key, storage))
        }
        kind = .keyed(fields)
    }

    func appendUnkeyed(_ storage: EncodedStorage) {
        guard case .unkeyed(var elements) = kind else { return }
        elements.append(storage)
        kind = .unkeyed(elements)
    }

    var count: Int {
        switch kind {
        case .value: 1
        case .keyed(let fields): fields.count
        case .unkeyed(let elements): elements.count
        }
    }
}

final class EncoderBox: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var storage: EncodedStorage?

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if storage == nil { storage = EncodedStorage(.keyed([])) }
        return KeyedEncodingContainer(KeyedContainer<Key>(storage: storage!, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if storage == nil { storage = EncodedStorage(.unkeyed([])) }
        return UnkeyedContainer(storage: storage!, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(box: self)
    }

    /// Encodes `value` as a child at `path`, into a storage of its own.
    static func child<T: Encodable>(_ value: T, at path: [any CodingKey]) throws -> EncodedStorage {
        if let native = BSON.native(value) { return EncodedStorage(.value(native)) }
        let encoder = EncoderBox(codingPath: path)
        try value.encode(to: encoder)
        return encoder.storage ?? EncodedStorage(.keyed([]))
    }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: EncodedStorage
        let codingPath: [any CodingKey]

        mutating func encodeNil(forKey key: Key) throws { storage.appendKeyed(key.stringValue, EncodedStorage(.value(.null))) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(.double(value), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(.double(Double(value)), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(try BSON.integer(value, at: codingPath + [key]), key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { set(.int32(Int32(value)), key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { set(.int32(Int32(value)), key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { set(.int32(value), key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { set(.int64(value), key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { set(try BSON.integer(value, at: codingPath + [key]), key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { set(.int32(Int32(value)), key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { set(.int32(Int32(value)), key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { set(try BSON.integer(value, at: codingPath + [key]), key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { set(try BSON.integer(value, at: codingPath + [key]), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            storage.appendKeyed(key.stringValue, try EncoderBox.child(value, at: codingPath + [key]))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let nested = EncodedStorage(.keyed([]))
            storage.appendKeyed(key.stringValue, nested)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(storage: nested, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let nested = EncodedStorage(.unkeyed([]))
            storage.appendKeyed(key.stringValue, nested)
            return UnkeyedContainer(storage: nested, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder { superEncoder(forKey: Key(stringValue: "super")!) }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            let encoder = EncoderBox(codingPath: codingPath + [key])
            let nested = EncodedStorage(.keyed([]))
            encoder.storage = nested
            storage.appendKeyed(key.stringValue, nested)
            return encoder
        }

        private func set(_ value: BSON, _ key: Key) { storage.appendKeyed(key.stringValue, EncodedStorage(.value(value))) }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let storage: EncodedStorage
        let codingPath: [any CodingKey]
        var count: Int { storage.count }

        private var indexKey: IndexKey { IndexKey(intValue: count) }

        mutating func encodeNil() throws { add(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            storage.appendUnkeyed(try EncoderBox.child(value, at: codingPath + [indexKey]))
        }
        mutating func encode(_ value: Bool) throws { add(.bool(value)) }
        mutating func encode(_ value: String) throws { add(.string(value)) }
        mutating func encode(_ value: Double) throws { add(.double(value)) }
        mutating func encode(_ value: Float) throws { add(.double(Double(value))) }
        mutating func encode(_ value: Int) throws { add(try BSON.integer(value, at: codingPath + [indexKey])) }
        mutating func encode(_ value: Int8) throws { add(.int32(Int32(value))) }
        mutating func encode(_ value: Int16) throws { add(.int32(Int32(value))) }
        mutating func encode(_ value: Int32) throws { add(.int32(value)) }
        mutating func encode(_ value: Int64) throws { add(.int64(value)) }
        mutating func encode(_ value: UInt) throws { add(try BSON.integer(value, at: codingPath + [indexKey])) }
        mutating func encode(_ value: UInt8) throws { add(.int32(Int32(value))) }
        mutating func encode(_ value: UInt16) throws { add(.int32(Int32(value))) }
        mutating func encode(_ value: UInt32) throws { add(try BSON.integer(value, at: codingPath + [indexKey])) }
        mutating func encode(_ value: UInt64) throws { add(try BSON.integer(value, at: codingPath + [indexKey])) }

        private func add(_ value: BSON) { storage.appendUnkeyed(EncodedStorage(.value(value))) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let nested = EncodedStorage(.keyed([]))
            let path = codingPath + [indexKey]
            storage.appendUnkeyed(nested)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(storage: nested, codingPath: path))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = EncodedStorage(.unkeyed([]))
            let path = codingPath + [indexKey]
            storage.appendUnkeyed(nested)
            return UnkeyedContainer(storage: nested, codingPath: path)
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = EncoderBox(codingPath: codingPath + [indexKey])
            let nested = EncodedStorage(.keyed([]))
            encoder.storage = nested
            storage.appendUnkeyed(nested)
            return encoder
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let box: EncoderBox
        var codingPath: [any CodingKey] { box.codingPath }

        mutating func encodeNil() throws { set(.null) }
        mutating func encode(_ value: Bool) throws { set(.bool(value)) }
        mutating func encode(_ value: String) throws { set(.string(value)) }
        mutating func encode(_ value: Double) throws { set(.double(value)) }
        mutating func encode(_ value: Float) throws { set(.double(Double(value))) }
        mutating func encode(_ value: Int) throws { set(try BSON.integer(value, at: codingPath)) }
        mutating func encode(_ value: Int8) throws { set(.int32(Int32(value))) }
        mutating func encode(_ value: Int16) throws { set(.int32(Int32(value))) }
        mutating func encode(_ value: Int32) throws { set(.int32(value)) }
        mutating func encode(_ value: Int64) throws { set(.int64(value)) }
        mutating func encode(_ value: UInt) throws { set(try BSON.integer(value, at: codingPath)) }
        mutating func encode(_ value: UInt8) throws { set(.int32(Int32(value))) }
        mutating func encode(_ value: UInt16) throws { set(.int32(Int32(value))) }
        mutating func encode(_ value: UInt32) throws { set(try BSON.integer(value, at: codingPath)) }
        mutating func encode(_ value: UInt64) throws { set(try BSON.integer(value, at: codingPath)) }
        mutating func encode<T: Encodable>(_ value: T) throws { box.storage = try EncoderBox.child(value, at: codingPath) }

        private func set(_ value: BSON) { box.storage = EncodedStorage(.value(value)) }
    }
}

/// The coding key of an array element.
struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { String(intValue ?? 0) }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { intValue = Int(stringValue) }
}

// MARK: - BSON's own types in Codable models

/// An ObjectId field of a model. With BSONEncoder and BSONDecoder it is a BSON ObjectId; with
/// other coders (JSON, say) its 24-digit hex string.
extension BSONObjectID: Codable {
    public init(from decoder: any Decoder) throws {
        if let box = decoder as? DecoderBox, case .objectID(let id) = box.value {
            self = id
            return
        }
        let hex = try decoder.singleValueContainer().decode(String.self)
        guard let id = BSONObjectID(hex: hex) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected an ObjectId (24 hex digits), found \"\(hex)\""))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        if let box = encoder as? EncoderBox {
            box.storage = EncodedStorage(.value(.objectID(self)))
            return
        }
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A free-form field of a model (a document or any BSON value kept as it is). Only BSONEncoder
/// and BSONDecoder carry it; other coders refuse it with an error that says so.
extension BSONDocument: Codable {
    public init(from decoder: any Decoder) throws {
        guard let box = decoder as? DecoderBox, case .document(let document) = box.value else {
            throw DecodingError.typeMismatch(BSONDocument.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a BSON document (decode with BSONDecoder)"))
        }
        self = document
    }

    public func encode(to encoder: any Encoder) throws {
        guard let box = encoder as? EncoderBox else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "a BSONDocument encodes only with BSONEncoder"))
        }
        box.storage = EncodedStorage(.value(.document(self)))
    }
}

extension BSON: Codable {
    public init(from decoder: any Decoder) throws {
        guard let box = decoder as? DecoderBox else {
            throw DecodingError.typeMismatch(BSON.self, .init(codingPath: decoder.codingPath, debugDescription: "a BSON value decodes only with BSONDecoder"))
        }
        self = box.value
    }

    public func encode(to encoder: any Encoder) throws {
        guard let box = encoder as? EncoderBox else {
            throw EncodingError.invalidValue(self, .init(codingPath: encoder.codingPath, debugDescription: "a BSON value encodes only with BSONEncoder"))
        }
        box.storage = EncodedStorage(.value(self))
    }
}
