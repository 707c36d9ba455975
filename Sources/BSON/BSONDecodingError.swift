/// Why a byte string is not a valid BSON document, and where.
///
/// The decoder reads untrusted bytes from the network: every malformed input ends in this
/// error, never in a trap. `offset` counts from the first byte of the input handed to the
/// decoder, so a caller can point at the offending byte in a hex dump.
public struct BSONDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule of the BSON specification that the input broke.
    public enum Kind: Sendable, Equatable, Hashable {
        /// The input ends before a fixed-size field or a declared length is complete.
        case truncated
        /// A declared length (document, string, binary, code with scope) is impossible.
        case invalidLength
        /// A document's last byte, a string's trailing NUL or a cstring's NUL is missing.
        case missingTerminator
        /// A string, key or regular expression part is not valid UTF-8.
        case invalidUTF8
        /// A boolean byte other than 0 or 1.
        case invalidBoolean
        /// Binary subtype 2 whose inner length does not match its outer length.
        case invalidBinaryOldFormat
        /// Code with scope whose total length disagrees with its parts.
        case invalidCodeWithScope
        /// Documents nested deeper than the decoder's `maxDepth`.
        case nestingTooDeep
        /// An element type byte that BSON does not define.
        case unknownType
        /// Bytes left over after the top-level document.
        case trailingBytes
    }

    public var kind: Kind
    /// Byte offset into the input where the problem was found.
    public var offset: Int
    /// What the decoder needed at `offset`.
    public var expected: String
    /// What it found there instead.
    public var found: String

    public init(_ kind: Kind, at offset: Int, expected: String, found: String) {
        self.kind = kind
        self.offset = offset
        self.expected = expected
        self.found = found
    }

    public var description: String {
        "invalid BSON at byte \(offset): expected \(expected), found \(found)"
    }
}
