import MongoBSON

/// Percent-decoding as RFC 3986 section 2.1 defines it, strict: every `%` must start a
/// `%XX` triple and the decoded bytes must be UTF-8. `+` stays a plus sign (the
/// connection-string spec asks for `%20` for spaces).
enum PercentDecoding {
    /// The decoded text, or nil if a `%` is malformed or the bytes are not UTF-8.
    static func decode(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Decodes `text` or throws ``ConnectionStringError/invalidPercentEncoding(part:text:)``
    /// naming `part`.
    static func decode(_ text: Substring, part: String) throws(ConnectionStringError) -> String {
        guard let decoded = decode(text) else {
            throw .invalidPercentEncoding(part: part, text: String(text))
        }
        return decoded
    }

    /// Whether every `%` in `text` starts a well-formed `%XX` triple (the userinfo rule).
    static func isWellFormed(_ text: Substring) -> Bool {
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard iterator.next().flatMap(hexValue) != nil, iterator.next().flatMap(hexValue) != nil else {
                    return false
                }
            }
        }
        return true
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
