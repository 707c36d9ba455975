import MongoBSON
import SDAMCore

/// Why bytes from (or for) a MongoDB connection are not a valid wire protocol message.
///
/// Every malformed frame ends in a `WireError`, never a trap. The description says what was
/// expected and what came, so that it can go straight into a server description's error or a
/// log line. After a `WireError` on a read, the connection's byte stream can no longer be
/// trusted: close the connection.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var reason: Reason
    /// The peer the bytes came from ("host:port"), when the caller knows it. When set, it
    /// prefixes the description: "from 127.0.0.1:27017: …".
    public var server: String?

    /// Creates an error for `reason`, optionally naming the peer.
    public init(_ reason: Reason, server: String? = nil) {
        self.reason = reason
        self.server = server
    }

    /// The same error, attributed to `server` (the connection's address).
    public func from(server: String?) -> WireError {
        WireError(reason, server: server)
    }

    public var description: String {
        guard let server else { return reason.description }
        return "from \(server): \(reason.description)"
    }

    /// The ways a message can be wrong. Each case carries what was expected and what came.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The header's messageLength is smaller than the 16-byte header itself.
        case messageLengthBelowMinimum(Int32)
        /// The header's messageLength is larger than the connection's maxMessageSizeBytes.
        case messageLengthAboveMaximum(Int32, maximum: Int)
        /// A complete frame's byte count differs from the messageLength its header declares.
        case messageLengthMismatch(declared: Int32, actual: Int)
        /// A message would need more than the int32 messageLength can express.
        case encodedMessageTooLarge(byteCount: Int)
        /// A reply answers a different request than the one the caller is waiting for.
        case responseToMismatch(received: Int32, expected: Int32)
        /// An opcode this driver does not speak (legacy OP_INSERT and friends, or garbage).
        case unsupportedOpCode(Int32)
        /// The peer sent OP_COMPRESSED, which this driver never negotiates.
        case compressionNotSupported(originalOpCode: Int32, compressorID: UInt8)
        /// A fixed-size field runs past the end of the message.
        case truncated(field: String, needed: Int, available: Int)
        /// A BSON document's leading int32 is below the 5 bytes of an empty document.
        case documentLengthBelowMinimum(Int32, context: String)
        /// A BSON document's leading int32 claims more bytes than are left.
        case documentLengthExceedsRemaining(Int32, remaining: Int, context: String)
        /// A BSON document does not end with its 0x00 terminator.
        case documentNotTerminated(length: Int32, lastByte: UInt8, context: String)
        /// A cstring has no 0x00 terminator before the end of its container.
        case unterminatedCString(field: String, available: Int)
        /// A string to be written as a cstring contains 0x00, which would cut it short.
        case cStringContainsNull(field: String)
        /// A cstring's bytes are not UTF-8.
        case invalidUTF8(field: String)
        /// OP_MSG flagBits sets required bits (0-15) this driver does not know.
        case unknownRequiredFlagBits(flagBits: UInt32, unknown: UInt32)
        /// An OP_MSG section's payload type is neither 0 nor 1.
        case unknownSectionKind(UInt8)
        /// An OP_MSG has no kind 0 section.
        case missingBodySection
        /// An OP_MSG has more than one kind 0 section.
        case multipleBodySections(count: Int)
        /// Two kind 1 sections of one OP_MSG share an identifier.
        case duplicateSequenceIdentifier(String)
        /// A kind 1 section's size cannot hold its own size field and identifier.
        case sequenceSizeBelowMinimum(Int32)
        /// A kind 1 section's size claims more bytes than are left in the message.
        case sequenceSizeExceedsRemaining(Int32, remaining: Int)
        /// The OP_MSG checksum does not match the CRC-32C of the message.
        case checksumMismatch(computed: UInt32, declared: UInt32)
        /// OP_REPLY's numberReturned disagrees with the documents that follow.
        case numberReturnedMismatch(declared: Int32, actual: Int)
        /// Bytes follow the last field a message can hold.
        case trailingBytes(count: Int, context: String)

        public var description: String {
            switch self {
            case .messageLengthBelowMinimum(let length):
                return "messageLength \(length) is below the minimum \(MessageHeader.byteCount)"
            case .messageLengthAboveMaximum(let length, let maximum):
                return "messageLength \(length) exceeds maxMessageSizeBytes \(maximum)"
            case .messageLengthMismatch(let declared, let actual):
                return "messageLength \(declared) does not match the \(actual) bytes of the frame"
            case .encodedMessageTooLarge(let byteCount):
                return "encoded message of \(byteCount) bytes exceeds the int32 messageLength limit \(Int32.max)"
            case .responseToMismatch(let received, let expected):
                return "responseTo \(received) does not match request \(expected)"
            case .unsupportedOpCode(let code):
                return "unsupported opCode \(code) (expected OP_MSG 2013, OP_REPLY 1 or OP_QUERY 2004)"
            case .compressionNotSupported(let original, let compressor):
                return "compression is not supported: server sent OP_COMPRESSED (original opcode \(original), compressor id \(compressor))"
            case .truncated(let field, let needed, let available):
                return "truncated message: \(field) needs \(needed) bytes but only \(available) are left"
            case .documentLengthBelowMinimum(let length, let context):
                return "document length \(length) in \(context) is below the minimum 5"
            case .documentLengthExceedsRemaining(let length, let remaining, let context):
                return "document length \(length) exceeds the \(remaining) bytes left in \(context)"
            case .documentNotTerminated(let length, let lastByte, let context):
                return "document of length \(length) in \(context) ends with \(hex(lastByte)), expected 0x00"
            case .unterminatedCString(let field, let available):
                return "\(field) has no terminating 0x00 within the \(available) bytes left"
            case .cStringContainsNull(let field):
                return "\(field) contains a 0x00 byte, which a cstring cannot hold"
            case .invalidUTF8(let field):
                return "\(field) is not valid UTF-8"
            case .unknownRequiredFlagBits(let flagBits, let unknown):
                return "OP_MSG flagBits \(hex(flagBits)) set unknown required bits \(hex(unknown))"
            case .unknownSectionKind(let kind):
                return "unknown section kind \(kind) (expected 0 for a body or 1 for a document sequence)"
            case .missingBodySection:
                return "OP_MSG has no body section (kind 0); exactly one is required"
            case .multipleBodySections(let count):
                return "OP_MSG has \(count) body sections (kind 0); exactly one is required"
            case .duplicateSequenceIdentifier(let identifier):
                return "OP_MSG has two document sequences named \"\(identifier)\"; identifiers must be unique"
            case .sequenceSizeBelowMinimum(let size):
                return "document sequence size \(size) is below the minimum 5"
            case .sequenceSizeExceedsRemaining(let size, let remaining):
                return "document sequence size \(size) exceeds the \(remaining) bytes left in the message"
            case .checksumMismatch(let computed, let declared):
                return "CRC-32C mismatch: computed \(hex(computed)), message says \(hex(declared))"
            case .numberReturnedMismatch(let declared, let actual):
                return "OP_REPLY numberReturned \(declared) but \(actual) documents follow"
            case .trailingBytes(let count, let context):
                return "\(count) unexpected bytes after \(context)"
            }
        }
    }
}

/// "0x" and the value's hex digits, zero-padded to its width.
private func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    let width = T.bitWidth / 4
    return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
}
