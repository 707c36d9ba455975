/// One BSON value: every type of the BSON specification, deprecated ones included, so that
/// any document a server sends can be held and re-encoded byte for byte.
public enum BSON: Sendable, Equatable {
    case double(Double)
    case string(String)
    case document(BSONDocument)
    case array([BSON])
    case binary(BSONBinary)
    /// Deprecated type 0x06.
    case undefined
    case objectID(BSONObjectID)
    case bool(Bool)
    /// UTC datetime: milliseconds since the Unix epoch.
    case datetime(Int64)
    case null
    case regex(BSONRegularExpression)
    /// Deprecated type 0x0C.
    case dbPointer(BSONDBPointer)
    case javascript(String)
    /// Deprecated type 0x0E.
    case symbol(String)
    case javascriptWithScope(BSONCodeWithScope)
    case int32(Int32)
    case timestamp(BSONTimestamp)
    case int64(Int64)
    case decimal128(BSONDecimal128)
    case minKey
    case maxKey

    /// Equality is by type and value; doubles compare by bit pattern, so NaN equals NaN and
    /// -0.0 differs from 0.0 (what round-trip tests need).
    public static func == (lhs: BSON, rhs: BSON) -> Bool {
        switch (lhs, rhs) {
        case let (.double(a), .double(b)): return a.bitPattern == b.bitPattern
        case let (.string(a), .string(b)): return a == b
        case let (.document(a), .document(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.binary(a), .binary(b)): return a == b
        case (.undefined, .undefined): return true
        case let (.objectID(a), .objectID(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case let (.datetime(a), .datetime(b)): return a == b
        case (.null, .null): return true
        case let (.regex(a), .regex(b)): return a == b
        case let (.dbPointer(a), .dbPointer(b)): return a == b
        case let (.javascript(a), .javascript(b)): return a == b
        case let (.symbol(a), .symbol(b)): return a == b
        case let (.javascriptWithScope(a), .javascriptWithScope(b)): return a == b
        case let (.int32(a), .int32(b)): return a == b
        case let (.timestamp(a), .timestamp(b)): return a == b
        case let (.int64(a), .int64(b)): return a == b
        case let (.decimal128(a), .decimal128(b)): return a == b
        case (.minKey, .minKey): return true
        case (.maxKey, .maxKey): return true
        default: return false
        }
    }

    /// The BSON element type byte.
    public var typeByte: UInt8 {
        switch self {
        case .double: 0x01
        case .string: 0x02
        case .document: 0x03
        case .array: 0x04
        case .binary: 0x05
        case .undefined: 0x06
        case .objectID: 0x07
        case .bool: 0x08
        case .datetime: 0x09
        case .null: 0x0A
        case .regex: 0x0B
        case .dbPointer: 0x0C
        case .javascript: 0x0D
        case .symbol: 0x0E
        case .javascriptWithScope: 0x0F
        case .int32: 0x10
        case .timestamp: 0x11
        case .int64: 0x12
        case .decimal128: 0x13
        case .minKey: 0xFF
        case .maxKey: 0x7F
        }
    }

    /// A short type name for error messages ("int32", "document", ...).
    public var typeName: String {
        switch self {
        case .double: "double"
        case .string: "string"
        case .document: "document"
        case .array: "array"
        case .binary: "binary"
        case .undefined: "undefined"
        case .objectID: "objectId"
        case .bool: "bool"
        case .datetime: "date"
        case .null: "null"
        case .regex: "regex"
        case .dbPointer: "dbPointer"
        case .javascript: "javascript"
        case .symbol: "symbol"
        case .javascriptWithScope: "javascriptWithScope"
        case .int32: "int32"
        case .timestamp: "timestamp"
        case .int64: "int64"
        case .decimal128: "decimal128"
        case .minKey: "minKey"
        case .maxKey: "maxKey"
        }
    }

    // MARK: - Accessors used when reading server replies

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var documentValue: BSONDocument? {
        if case .document(let d) = self { return d }
        return nil
    }

    public var arrayValue: [BSON]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectIDValue: BSONObjectID? {
        if case .objectID(let o) = self { return o }
        return nil
    }

    /// Any numeric type (int32, int64, double) as an Int64, when it is integral and in range.
    /// Servers send counts and versions in any of the three numeric types.
    public var int64Value: Int64? {
        switch self {
        case .int32(let v): return Int64(v)
        case .int64(let v): return v
        case .double(let d):
            guard d.isFinite, d == d.rounded(), d >= -9.2e18, d <= 9.2e18 else { return nil }
            return Int64(d)
        default: return nil
        }
    }

    /// Any numeric type as a Double.
    public var doubleValue: Double? {
        switch self {
        case .int32(let v): return Double(v)
        case .int64(let v): return Double(v)
        case .double(let d): return d
        default: return nil
        }
    }

    /// The value as the server's notion of truth for fields like `ok`: a bool, or a number
    /// that is not zero.
    public var isTruthy: Bool {
        switch self {
        case .bool(let b): return b
        case .int32(let v): return v != 0
        case .int64(let v): return v != 0
        case .double(let d): return d != 0
        case .null, .undefined: return false
        default: return true
        }
    }
}

/// Binary data with its subtype.
public struct BSONBinary: Sendable, Equatable, Hashable {
    public var subtype: UInt8
    public var data: [UInt8]

    public init(subtype: UInt8, data: [UInt8]) {
        self.subtype = subtype
        self.data = data
    }
}

/// A 12-byte ObjectId.
public struct BSONObjectID: Sendable, Equatable, Hashable, Comparable, CustomStringConvertible {
    /// Exactly 12 bytes.
    public let bytes: [UInt8]

    /// - Returns: nil unless `bytes` has exactly 12 elements.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 12 else { return nil }
        self.bytes = bytes
    }

    /// Parses 24 hexadecimal digits (either case).
    public init?(hex: String) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 24 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(12)
        var i = 0
        while i < 24 {
            guard let hi = hexDigitValue(utf8[i]), let lo = hexDigitValue(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self.bytes = out
    }

    /// Lowercase hexadecimal, as Extended JSON writes it.
    public var hex: String { hexString(bytes) }

    public var description: String { hex }

    /// ObjectIds order as their bytes do, which is how SDAM compares electionIds.
    public static func < (lhs: BSONObjectID, rhs: BSONObjectID) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}

public struct BSONRegularExpression: Sendable, Equatable, Hashable {
    public var pattern: String
    /// Option letters; canonical form keeps them sorted alphabetically.
    public var options: String

    public init(pattern: String, options: String) {
        self.pattern = pattern
        self.options = options
    }
}

public struct BSONDBPointer: Sendable, Equatable, Hashable {
    public var ref: String
    public var id: BSONObjectID

    public init(ref: String, id: BSONObjectID) {
        self.ref = ref
        self.id = id
    }
}

public struct BSONCodeWithScope: Sendable, Equatable {
    public var code: String
    public var scope: BSONDocument

    public init(code: String, scope: BSONDocument) {
        self.code = code
        self.scope = scope
    }
}

/// A BSON timestamp: seconds and an increment, both unsigned 32-bit.
public struct BSONTimestamp: Sendable, Equatable, Hashable, Comparable {
    public var timestamp: UInt32
    public var increment: UInt32

    public init(timestamp: UInt32, increment: UInt32) {
        self.timestamp = timestamp
        self.increment = increment
    }

    public static func < (lhs: BSONTimestamp, rhs: BSONTimestamp) -> Bool {
        (lhs.timestamp, lhs.increment) < (rhs.timestamp, rhs.increment)
    }
}

/// An IEEE 754-2008 decimal128 value, held as its 128-bit little-endian encoding.
/// Conversion to and from strings lives in `BSONDecimal128+String.swift`.
public struct BSONDecimal128: Sendable, Equatable, Hashable {
    public var low: UInt64
    public var high: UInt64

    public init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }
}

@inline(__always)
func hexDigitValue(_ b: UInt8) -> UInt8? {
    switch b {
    case 0x30...0x39: return b - 0x30
    case 0x41...0x46: return b - 0x41 + 10
    case 0x61...0x66: return b - 0x61 + 10
    default: return nil
    }
}

func hexString(_ bytes: some Sequence<UInt8>, uppercase: Bool = false) -> String {
    let digits: [UInt8] = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}
