extension BSONDocument {
    /// The document's BSON bytes.
    ///
    /// Encoding cannot fail for values the decoder or the Extended JSON reader produce. Keys
    /// and regular expression parts are C strings on the wire: a hand-built value with a NUL
    /// inside one is written up to that NUL (use `validateForEncoding()` first to reject it).
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        encode(into: &out)
        return out
    }

    /// Appends the document's BSON bytes to `out` (for building a message in one buffer).
    public func encode(into out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: [0, 0, 0, 0])
        for (key, value) in elements {
            out.append(value.typeByte)
            BSONEncoding.appendCString(key, to: &out)
            value.encodeValue(into: &out)
        }
        out.append(0)
        BSONEncoding.patchLength(at: start, in: &out)
    }

    /// Checks what `encoded()` cannot represent: a NUL inside a key or a regular expression
    /// pattern or options, at any depth (the bson-corpus prose test "prohibit null bytes").
    ///
    /// - Throws: `BSONEncodingError` naming the path of the offending element.
    public func validateForEncoding() throws(BSONEncodingError) {
        try BSONEncoding.validate(self, path: "")
    }
}

/// Why a value cannot be encoded as BSON.
public struct BSONEncodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path of the element at fault.
    public var path: String
    public var reason: String

    public var description: String { "cannot encode BSON at '\(path)': \(reason)" }
}

extension BSON {
    /// Appends the value's bytes (without type byte or key) to `out`.
    func encodeValue(into out: inout [UInt8]) {
        switch self {
        case .double(let d): BSONEncoding.appendLittleEndian(d.bitPattern, width: 8, to: &out)
        case .string(let s), .javascript(let s), .symbol(let s): BSONEncoding.appendString(s, to: &out)
        case .document(let d): d.encode(into: &out)
        case .array(let values):
            let start = out.count
            out.append(contentsOf: [0, 0, 0, 0])
            for (i, v) in values.enumerated() {
                out.append(v.typeByte)
                out.append(contentsOf: String(i).utf8)
                out.append(0)
                v.encodeValue(into: &out)
            }
            out.append(0)
            BSONEncoding.patchLength(at: start, in: &out)
        case .binary(let b):
            let payload = b.subtype == 0x02 ? b.data.count + 4 : b.data.count
            BSONEncoding.appendLittleEndian(UInt64(UInt32(truncatingIfNeeded: payload)), width: 4, to: &out)
            out.append(b.subtype)
            if b.subtype == 0x02 {
                BSONEncoding.appendLittleEndian(UInt64(UInt32(truncatingIfNeeded: b.data.count)), width: 4, to: &out)
            }
            out.append(contentsOf: b.data)
        case .undefined, .null, .minKey, .maxKey: break
        case .objectID(let id): out.append(contentsOf: id.bytes)
        case .bool(let b): out.append(b ? 1 : 0)
        case .datetime(let ms): BSONEncoding.appendLittleEndian(UInt64(bitPattern: ms), width: 8, to: &out)
        case .regex(let r):
            BSONEncoding.appendCString(r.pattern, to: &out)
            BSONEncoding.appendCString(BSONRegularExpression.sortedOptions(r.options), to: &out)
        case .dbPointer(let p):
            BSONEncoding.appendString(p.ref, to: &out)
            out.append(contentsOf: p.id.bytes)
        case .javascriptWithScope(let c):
            let start = out.count
            out.append(contentsOf: [0, 0, 0, 0])
            BSONEncoding.appendString(c.code, to: &out)
            c.scope.encode(into: &out)
            BSONEncoding.patchLength(at: start, in: &out)
        case .int32(let v): BSONEncoding.appendLittleEndian(UInt64(UInt32(bitPattern: v)), width: 4, to: &out)
        case .timestamp(let t):
            BSONEncoding.appendLittleEndian(UInt64(t.timestamp) << 32 | UInt64(t.increment), width: 8, to: &out)
        case .int64(let v): BSONEncoding.appendLittleEndian(UInt64(bitPattern: v), width: 8, to: &out)
        case .decimal128(let d):
            BSONEncoding.appendLittleEndian(d.low, width: 8, to: &out)
            BSONEncoding.appendLittleEndian(d.high, width: 8, to: &out)
        }
    }
}

/// Little helpers of the encoder.
enum BSONEncoding {
    static func appendLittleEndian(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        for k in 0..<width {
            out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))))
        }
    }

    /// Writes the int32 length of the region from `start` to the end of `out` at `start`.
    static func patchLength(at start: Int, in out: inout [UInt8]) {
        let length = UInt32(truncatingIfNeeded: out.count - start)
        for k in 0..<4 {
            out[start + k] = UInt8(truncatingIfNeeded: length >> (8 * UInt32(k)))
        }
    }

    /// int32 length (bytes + NUL), the UTF-8 bytes, NUL. Embedded NULs are allowed here.
    static func appendString(_ s: String, to out: inout [UInt8]) {
        let utf8 = s.utf8
        appendLittleEndian(UInt64(UInt32(truncatingIfNeeded: utf8.count + 1)), width: 4, to: &out)
        out.append(contentsOf: utf8)
        out.append(0)
    }

    /// The UTF-8 bytes up to the first NUL, then NUL.
    static func appendCString(_ s: String, to out: inout [UInt8]) {
        for byte in s.utf8 {
            if byte == 0 { break }
            out.append(byte)
        }
        out.append(0)
    }

    static func validate(_ document: BSONDocument, path: String) throws(BSONEncodingError) {
        for (key, value) in document.elements {
            let here = path.isEmpty ? key : path + "." + key
            if key.utf8.contains(0) { throw BSONEncodingError(path: here, reason: "the key contains a NUL byte") }
            try validate(value, path: here)
        }
    }

    static func validate(_ value: BSON, path: String) throws(BSONEncodingError) {
        switch value {
        case .document(let d): try validate(d, path: path)
        case .array(let values):
            for (i, v) in values.enumerated() { try validate(v, path: path + "." + String(i)) }
        case .javascriptWithScope(let c): try validate(c.scope, path: path + ".$scope")
        case .regex(let r):
            if r.pattern.utf8.contains(0) { throw BSONEncodingError(path: path, reason: "the regular expression pattern contains a NUL byte") }
            if r.options.utf8.contains(0) { throw BSONEncodingError(path: path, reason: "the regular expression options contain a NUL byte") }
        default: break
        }
    }
}
