/// The validating reader behind `BSONDocument(bytes:)` and `BSONDocumentView`.
///
/// It works on absolute indices of one `ArraySlice` (no copies while walking) and checks every
/// length against the bytes of the enclosing document before reading, so hostile input ends
/// in a `BSONDecodingError` and never in a trap. With `build == false` it only validates and
/// returns placeholders, which lets the lazy view check a whole frame without allocating
/// the values it will never be asked for.
struct BSONParser {
    let bytes: ArraySlice<UInt8>
    let maxDepth: Int

    init(_ bytes: ArraySlice<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    // MARK: - Errors and fixed-width reads

    func error(_ kind: BSONDecodingError.Kind, at index: Int, expected: String, found: String) -> BSONDecodingError {
        BSONDecodingError(kind, at: index - bytes.startIndex, expected: expected, found: found)
    }

    /// Fails unless `count` bytes of `what` fit between `index` and `limit`.
    func need(_ count: Int, at index: Int, limit: Int, _ what: String) throws(BSONDecodingError) {
        guard count <= limit - index else {
            throw error(.truncated, at: index, expected: "\(count) bytes of \(what)",
                        found: "\(max(0, limit - index)) bytes before the end of the enclosing document")
        }
    }

    /// Little-endian integer of `width` bytes; the caller has checked the bounds with `need`.
    func littleEndian(at index: Int, width: Int) -> UInt64 {
        var value: UInt64 = 0
        for k in stride(from: width - 1, through: 0, by: -1) {
            value = value << 8 | UInt64(bytes[index + k])
        }
        return value
    }

    func int32(at index: Int) -> Int32 {
        Int32(truncatingIfNeeded: littleEndian(at: index, width: 4))
    }

    func byteDescription(at index: Int) -> String {
        "0x" + hexString([bytes[index]], uppercase: true)
    }

    // MARK: - Documents

    /// The top-level document: its declared length must cover the input exactly.
    func topLevelDocument(build: Bool) throws(BSONDecodingError) -> BSONDocument {
        let (document, end) = try document(at: bytes.startIndex, limit: bytes.endIndex, depth: 1, build: build)
        try checkNoTrailingBytes(after: end)
        return document
    }

    /// Reads the int32 length at `index` of a region that counts its own length field (a
    /// document, a code with scope), checks it against `minimum` and the bytes up to `limit`,
    /// and returns the region's end.
    func selfInclusiveLength(at index: Int, limit: Int, minimum: Int, _ kind: BSONDecodingError.Kind,
                             _ what: String) throws(BSONDecodingError) -> Int {
        try need(4, at: index, limit: limit, "\(what) length")
        let length = Int(int32(at: index))
        guard length >= minimum else {
            throw error(kind, at: index, expected: "a \(what) length of at least \(minimum)", found: "\(length)")
        }
        guard length <= limit - index else {
            throw error(kind, at: index, expected: "a \(what) length of at most \(limit - index) (the bytes available)",
                        found: "\(length)")
        }
        return index + length
    }

    /// Fails when bytes follow the top-level document, which ends at `end`.
    func checkNoTrailingBytes(after end: Int) throws(BSONDecodingError) {
        guard end == bytes.endIndex else {
            throw error(.trailingBytes, at: end, expected: "the end of the input after the top-level document",
                        found: "\(bytes.endIndex - end) more bytes")
        }
    }

    /// Checks the envelope of the document at `start` (length, terminator) and returns its end,
    /// one past the terminating 0x00.
    func documentFrame(at start: Int, limit: Int) throws(BSONDecodingError) -> Int {
        let end = try selfInclusiveLength(at: start, limit: limit, minimum: 5, .invalidLength, "document")
        guard bytes[end - 1] == 0 else {
            throw error(.missingTerminator, at: end - 1, expected: "0x00 ending the document",
                        found: byteDescription(at: end - 1))
        }
        return end
    }

    /// One element's type byte and key, starting at `index`; returns the key's byte range and
    /// where the value starts.
    func elementHeader(at index: Int, contentEnd: Int) throws(BSONDecodingError) -> (type: UInt8, key: Range<Int>, valueStart: Int) {
        let type = bytes[index]
        guard type != 0 else {
            throw error(.invalidLength, at: index,
                        expected: "an element (the document's declared length ends at byte \(contentEnd + 1 - bytes.startIndex))",
                        found: "the end-of-document marker 0x00")
        }
        guard (0x01...0x13).contains(type) || type == 0x7F || type == 0xFF else {
            throw error(.unknownType, at: index, expected: "a BSON element type",
                        found: "0x" + hexString([type], uppercase: true))
        }
        let key = try cString(at: index + 1, limit: contentEnd, "element key")
        return (type, key, key.upperBound + 1)
    }

    func document(at start: Int, limit: Int, depth: Int, build: Bool) throws(BSONDecodingError) -> (BSONDocument, end: Int) {
        guard depth <= maxDepth else {
            throw error(.nestingTooDeep, at: start, expected: "documents nested at most \(maxDepth) deep",
                        found: "nesting level \(depth)")
        }
        let end = try documentFrame(at: start, limit: limit)
        let contentEnd = end - 1
        var elements: [(key: String, value: BSON)] = []
        var index = start + 4
        while index < contentEnd {
            let header = try elementHeader(at: index, contentEnd: contentEnd)
            let (value, next) = try value(type: header.type, at: header.valueStart, limit: contentEnd, depth: depth, build: build)
            if build { elements.append((key: string(header.key), value: value)) }
            index = next
        }
        return (BSONDocument(elements), end)
    }

    // MARK: - Strings

    /// A NUL-terminated UTF-8 string at `index`; returns the range without the NUL.
    func cString(at index: Int, limit: Int, _ what: String) throws(BSONDecodingError) -> Range<Int> {
        guard index < limit, let nul = bytes[index..<limit].firstIndex(of: 0) else {
            throw error(.missingTerminator, at: min(index, limit), expected: "a NUL-terminated \(what)",
                        found: "no 0x00 before the end of the enclosing document")
        }
        guard Self.isValidUTF8(bytes[index..<nul]) else {
            throw error(.invalidUTF8, at: index, expected: "a UTF-8 \(what)", found: "invalid UTF-8")
        }
        return index..<nul
    }

    /// A length-prefixed string (int32 length including the trailing NUL, bytes, NUL);
    /// returns the range without the NUL and the index after it.
    func lengthPrefixedString(at index: Int, limit: Int, _ what: String) throws(BSONDecodingError) -> (Range<Int>, next: Int) {
        try need(4, at: index, limit: limit, "\(what) length")
        let length = Int(int32(at: index))
        let start = index + 4
        guard length >= 1 else {
            throw error(.invalidLength, at: index, expected: "a \(what) length of at least 1 (its trailing NUL)", found: "\(length)")
        }
        guard length <= limit - start else {
            throw error(.invalidLength, at: index,
                        expected: "a \(what) length of at most \(limit - start) (the bytes left)", found: "\(length)")
        }
        let nul = start + length - 1
        guard bytes[nul] == 0 else {
            throw error(.missingTerminator, at: nul, expected: "0x00 ending the \(what)", found: byteDescription(at: nul))
        }
        guard Self.isValidUTF8(bytes[start..<nul]) else {
            throw error(.invalidUTF8, at: start, expected: "a UTF-8 \(what)", found: "invalid UTF-8")
        }
        return (start..<nul, nul + 1)
    }

    /// The text of a range already checked by `isValidUTF8`.
    func string(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    /// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
    static func isValidUTF8(_ s: ArraySlice<UInt8>) -> Bool {
        var i = s.startIndex
        let end = s.endIndex
        while i < end {
            let b0 = s[i]
            if b0 < 0x80 {
                i += 1
                continue
            }
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            let trailing: Int
            switch b0 {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; low = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: trailing = 2
            case 0xED: trailing = 2; high = 0x9F
            case 0xF0: trailing = 3; low = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; high = 0x8F
            default: return false
            }
            guard end - i > trailing else { return false }
            let b1 = s[i + 1]
            guard b1 >= low, b1 <= high else { return false }
            var k = 2
            while k <= trailing {
                guard s[i + k] & 0xC0 == 0x80 else { return false }
                k += 1
            }
            i += trailing + 1
        }
        return true
    }

    // MARK: - Values

    /// The value of type `type` at `index`, within the enclosing document's content (`limit`);
    /// returns it (or `.null` when not building) and the index after it.
    func value(type: UInt8, at index: Int, limit: Int, depth: Int, build: Bool) throws(BSONDecodingError) -> (BSON, next: Int) {
        switch type {
        case 0x01:
            try need(8, at: index, limit: limit, "double")
            return (.double(Double(bitPattern: littleEndian(at: index, width: 8))), index + 8)
        case 0x02, 0x0D, 0x0E:
            let what = type == 0x02 ? "string" : type == 0x0D ? "javascript code" : "symbol"
            let (range, next) = try lengthPrefixedString(at: index, limit: limit, what)
            guard build else { return (.null, next) }
            let s = string(range)
            return (type == 0x02 ? .string(s) : type == 0x0D ? .javascript(s) : .symbol(s), next)
        case 0x03:
            let (document, end) = try document(at: index, limit: limit, depth: depth + 1, build: build)
            return (.document(document), end)
        case 0x04:
            // Array keys are not checked: "0", "1", ... is the canonical form, anything else is
            // the corpus' degenerate BSON, still readable.
            let (document, end) = try document(at: index, limit: limit, depth: depth + 1, build: build)
            return (.array(document.elements.map(\.value)), end)
        case 0x05:
            return try binary(at: index, limit: limit, build: build)
        case 0x06: return (.undefined, index)
        case 0x07:
            try need(12, at: index, limit: limit, "ObjectId")
            return (build ? objectID(at: index) : .null, index + 12)
        case 0x08:
            try need(1, at: index, limit: limit, "boolean")
            switch bytes[index] {
            case 0: return (.bool(false), index + 1)
            case 1: return (.bool(true), index + 1)
            default:
                throw error(.invalidBoolean, at: index, expected: "a boolean byte 0x00 or 0x01", found: byteDescription(at: index))
            }
        case 0x09:
            try need(8, at: index, limit: limit, "UTC datetime")
            return (.datetime(Int64(bitPattern: littleEndian(at: index, width: 8))), index + 8)
        case 0x0A: return (.null, index)
        case 0x0B:
            let pattern = try cString(at: index, limit: limit, "regular expression pattern")
            let options = try cString(at: pattern.upperBound + 1, limit: limit, "regular expression options")
            let next = options.upperBound + 1
            guard build else { return (.null, next) }
            return (.regex(BSONRegularExpression(pattern: string(pattern), options: BSONRegularExpression.sortedOptions(string(options)))), next)
        case 0x0C:
            let (ref, next) = try lengthPrefixedString(at: index, limit: limit, "DBPointer namespace")
            try need(12, at: next, limit: limit, "DBPointer ObjectId")
            guard build, case .objectID(let id) = objectID(at: next) else { return (.null, next + 12) }
            return (.dbPointer(BSONDBPointer(ref: string(ref), id: id)), next + 12)
        case 0x0F:
            return try codeWithScope(at: index, limit: limit, depth: depth, build: build)
        case 0x10:
            try need(4, at: index, limit: limit, "int32")
            return (.int32(int32(at: index)), index + 4)
        case 0x11:
            try need(8, at: index, limit: limit, "timestamp")
            let raw = littleEndian(at: index, width: 8)
            let ts = BSONTimestamp(timestamp: UInt32(truncatingIfNeeded: raw >> 32), increment: UInt32(truncatingIfNeeded: raw))
            return (.timestamp(ts), index + 8)
        case 0x12:
            try need(8, at: index, limit: limit, "int64")
            return (.int64(Int64(bitPattern: littleEndian(at: index, width: 8))), index + 8)
        case 0x13:
            try need(16, at: index, limit: limit, "decimal128")
            let d = BSONDecimal128(low: littleEndian(at: index, width: 8), high: littleEndian(at: index + 8, width: 8))
            return (.decimal128(d), index + 16)
        case 0x7F: return (.maxKey, index)
        case 0xFF: return (.minKey, index)
        default:
            // `elementHeader` rejects unknown types with the type byte's offset; this is the
            // fallback for a caller that did not go through it.
            throw error(.unknownType, at: index, expected: "a BSON element type",
                        found: "0x" + hexString([type], uppercase: true))
        }
    }

    private func objectID(at index: Int) -> BSON {
        guard let id = BSONObjectID(bytes: Array(bytes[index..<(index + 12)])) else { return .null }
        return .objectID(id)
    }

    private func binary(at index: Int, limit: Int, build: Bool) throws(BSONDecodingError) -> (BSON, next: Int) {
        try need(5, at: index, limit: limit, "binary length and subtype")
        let length = Int(int32(at: index))
        let subtype = bytes[index + 4]
        let start = index + 5
        guard length >= 0, length <= limit - start else {
            throw error(.invalidLength, at: index,
                        expected: "a binary length from 0 to \(limit - start) (the bytes left)", found: "\(length)")
        }
        let end = start + length
        var dataStart = start
        if subtype == 0x02 {
            // The old binary format repeats the length inside the payload.
            guard length >= 4, Int(int32(at: start)) == length - 4 else {
                let inner = length >= 4 ? "\(int32(at: start))" : "no room for it"
                throw error(.invalidBinaryOldFormat, at: start,
                            expected: "an inner length of \(length - 4) for binary subtype 0x02", found: inner)
            }
            dataStart += 4
        }
        guard build else { return (.null, end) }
        return (.binary(BSONBinary(subtype: subtype, data: Array(bytes[dataStart..<end]))), end)
    }

    private func codeWithScope(at index: Int, limit: Int, depth: Int, build: Bool) throws(BSONDecodingError) -> (BSON, next: Int) {
        // int32 total + (int32 length + at least a NUL) + a document of at least 5 bytes.
        let end = try selfInclusiveLength(at: index, limit: limit, minimum: 14, .invalidCodeWithScope, "code with scope")
        let total = end - index
        let (code, scopeStart) = try lengthPrefixedString(at: index + 4, limit: end, "code with scope code")
        let (scope, scopeEnd) = try document(at: scopeStart, limit: end, depth: depth + 1, build: build)
        guard scopeEnd == end else {
            throw error(.invalidCodeWithScope, at: index,
                        expected: "a code with scope length of \(scopeEnd - index) (its code and scope)", found: "\(total)")
        }
        guard build else { return (.null, end) }
        return (.javascriptWithScope(BSONCodeWithScope(code: string(code), scope: scope)), end)
    }
}

extension BSONRegularExpression {
    /// Options in canonical order: the BSON spec stores them sorted, and the decoder sorts what
    /// it reads so that a decoded value re-encodes to the same value.
    static func sortedOptions(_ options: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: options.unicodeScalars.sorted())
        return String(scalars)
    }
}
