import MongoBSON
import SDAMCore

/// A bounds-checked little-endian cursor over one message's bytes.
///
/// Every read either returns a value or throws a `WireError` naming the field; none traps,
/// whatever the bytes say. `end` can be narrowed to read inside a section.
struct WireReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    var end: Int

    init(_ bytes: [UInt8], from position: Int = 0) {
        self.bytes = bytes
        self.position = min(max(0, position), bytes.count)
        self.end = bytes.count
    }

    var remaining: Int { end - position }
    var isAtEnd: Bool { position >= end }

    mutating func readUInt8(_ field: String) throws(WireError) -> UInt8 {
        try require(1, field)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt32(_ field: String) throws(WireError) -> UInt32 {
        try require(4, field)
        defer { position += 4 }
        return bytes.loadUInt32LE(at: position)
    }

    mutating func readInt32(_ field: String) throws(WireError) -> Int32 {
        Int32(bitPattern: try readUInt32(field))
    }

    mutating func readInt64(_ field: String) throws(WireError) -> Int64 {
        try require(8, field)
        let low = UInt64(bytes.loadUInt32LE(at: position))
        let high = UInt64(bytes.loadUInt32LE(at: position + 4))
        position += 8
        return Int64(bitPattern: high << 32 | low)
    }

    /// Reads a NUL-terminated UTF-8 string and steps past its terminator.
    mutating func readCString(_ field: String) throws(WireError) -> String {
        guard let nul = bytes[position..<end].firstIndex(of: 0) else {
            throw WireError(.unterminatedCString(field: field, available: remaining))
        }
        guard let text = String(validating: bytes[position..<nul], as: UTF8.self) else {
            throw WireError(.invalidUTF8(field: field))
        }
        position = nul + 1
        return text
    }

    /// Reads one BSON document as raw bytes, checking only its framing: a leading int32 length
    /// of at least 5 that fits in what is left of `context`, and a final 0x00 byte.
    mutating func readDocument(in context: String) throws(WireError) -> [UInt8] {
        guard remaining >= 4 else {
            throw WireError(.truncated(field: "document length in \(context)", needed: 4, available: remaining))
        }
        let length = Int32(bitPattern: bytes.loadUInt32LE(at: position))
        guard length >= 5 else { throw WireError(.documentLengthBelowMinimum(length, context: context)) }
        guard Int(length) <= remaining else {
            throw WireError(.documentLengthExceedsRemaining(length, remaining: remaining, context: context))
        }
        let last = bytes[position + Int(length) - 1]
        guard last == 0 else {
            throw WireError(.documentNotTerminated(length: length, lastByte: last, context: context))
        }
        defer { position += Int(length) }
        return Array(bytes[position..<(position + Int(length))])
    }

    private func require(_ count: Int, _ field: String) throws(WireError) {
        guard remaining >= count else {
            throw WireError(.truncated(field: field, needed: count, available: max(0, remaining)))
        }
    }
}

extension Array where Element == UInt8 {
    /// The little-endian uint32 at `offset`; the caller has checked that 4 bytes are there.
    func loadUInt32LE(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8
            | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    mutating func appendLE(_ value: UInt32) {
        append(UInt8(truncatingIfNeeded: value))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 24))
    }

    mutating func appendLE(_ value: Int32) {
        appendLE(UInt32(bitPattern: value))
    }

    mutating func appendLE(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        appendLE(UInt32(truncatingIfNeeded: bits))
        appendLE(UInt32(truncatingIfNeeded: bits >> 32))
    }

    /// Overwrites 4 bytes at `offset` (already written) with `value`, little-endian.
    mutating func storeLE(_ value: Int32, at offset: Int) {
        let bits = UInt32(bitPattern: value)
        for i in 0..<4 { self[offset + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i))) }
    }

    /// Writes `text` as a cstring; `field` names it in the error if it holds a 0x00.
    mutating func appendCString(_ text: String, field: String) throws(WireError) {
        guard !text.utf8.contains(0) else { throw WireError(.cStringContainsNull(field: field)) }
        append(contentsOf: text.utf8)
        append(0)
    }

    /// Writes a BSON document after checking the same framing the reader checks, so that a
    /// caller's bad bytes fail here rather than on the server.
    mutating func appendDocument(_ document: [UInt8], context: String) throws(WireError) {
        var reader = WireReader(document)
        _ = try reader.readDocument(in: context)
        guard reader.isAtEnd else {
            throw WireError(.trailingBytes(count: reader.remaining, context: "the document in \(context)"))
        }
        append(contentsOf: document)
    }
}
