import MongoBSON
import SDAMCore

/// An OP_MSG (opcode 2013): flag bits, one body document and any number of document
/// sequences, optionally followed by a CRC-32C checksum.
///
/// Documents are raw BSON bytes: this layer checks only their framing, and callers decode them.
public struct OpMsg: Sendable, Hashable {
    /// OP_MSG flagBits. The low 16 bits are required (a receiver must understand them), the
    /// high 16 optional. Unknown optional bits are kept as they came.
    public struct Flags: OptionSet, Sendable, Hashable {
        /// The wire's uint32, unknown optional bits included.
        public var rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Bit 0: a CRC-32C checksum follows the sections.
        public static let checksumPresent = Flags(rawValue: 1 << 0)
        /// Bit 1: the sender will send another message without waiting for a reply.
        public static let moreToCome = Flags(rawValue: 1 << 1)
        /// Bit 16: the client accepts several replies (streaming hello, exhaust getMore).
        public static let exhaustAllowed = Flags(rawValue: 1 << 16)

        /// The required bits this implementation understands.
        public static let knownRequired: Flags = [.checksumPresent, .moreToCome]
        /// Bits 0-15: a receiver must fail on any it does not understand.
        public static let requiredMask: UInt32 = 0xFFFF
    }

    /// A kind 1 section: documents named by a command argument (e.g. "documents" for insert).
    public struct DocumentSequence: Sendable, Hashable {
        /// The command argument the documents belong to; unique within a message.
        public var identifier: String
        /// Raw BSON documents, in order.
        public var documents: [[UInt8]]

        public init(identifier: String, documents: [[UInt8]]) {
            self.identifier = identifier
            self.documents = documents
        }
    }

    /// The flag bits. Setting `.checksumPresent` makes `WireMessage.encoded()` write a
    /// checksum; on a decoded message it says one was there and matched.
    public var flags: Flags
    /// The kind 0 section: the command or reply document, raw BSON.
    public var body: [UInt8]
    /// The kind 1 sections, in the order they came.
    public var documentSequences: [DocumentSequence]

    /// Creates a message; encoding checks the documents' framing and identifiers' uniqueness.
    public init(flags: Flags = [], body: [UInt8], documentSequences: [DocumentSequence] = []) {
        self.flags = flags
        self.body = body
        self.documentSequences = documentSequences
    }

    /// Section payload types.
    enum SectionKind {
        static let body: UInt8 = 0
        static let documentSequence: UInt8 = 1
    }
}

// MARK: - Decoding

extension OpMsg {
    /// Reads the part after the header. `frame` is the whole message (header included), as the
    /// checksum covers the header too; `reader` stands just after the header.
    init(frame: [UInt8], reader: inout WireReader) throws(WireError) {
        let rawFlags = try reader.readUInt32("OP_MSG flagBits")
        let unknown = rawFlags & Flags.requiredMask & ~Flags.knownRequired.rawValue
        guard unknown == 0 else {
            throw WireError(.unknownRequiredFlagBits(flagBits: rawFlags, unknown: unknown))
        }
        flags = Flags(rawValue: rawFlags)

        if flags.contains(.checksumPresent) {
            guard reader.remaining >= 4 else {
                throw WireError(.truncated(field: "OP_MSG checksum", needed: 4, available: reader.remaining))
            }
            let checksumOffset = reader.end - 4
            let declared = frame.loadUInt32LE(at: checksumOffset)
            let computed = CRC32C.checksum(frame[0..<checksumOffset])
            guard computed == declared else {
                throw WireError(.checksumMismatch(computed: computed, declared: declared))
            }
            reader.end = checksumOffset
        }

        var bodies: [[UInt8]] = []
        var sequences: [DocumentSequence] = []
        var identifiers: Set<String> = []
        while !reader.isAtEnd {
            switch try reader.readUInt8("OP_MSG section kind") {
            case SectionKind.body:
                bodies.append(try reader.readDocument(in: "body section"))
            case SectionKind.documentSequence:
                let sequence = try Self.readSequence(&reader)
                guard identifiers.insert(sequence.identifier).inserted else {
                    throw WireError(.duplicateSequenceIdentifier(sequence.identifier))
                }
                sequences.append(sequence)
            case let kind:
                throw WireError(.unknownSectionKind(kind))
            }
        }
        guard bodies.count == 1, let body = bodies.first else {
            throw WireError(bodies.isEmpty ? .missingBodySection : .multipleBodySections(count: bodies.count))
        }
        self.body = body
        documentSequences = sequences
    }

    private static func readSequence(_ reader: inout WireReader) throws(WireError) -> DocumentSequence {
        let remainingWithSize = reader.remaining
        let size = try reader.readInt32("document sequence size")
        // The size counts its own 4 bytes and at least the identifier's terminator.
        guard size >= 5 else { throw WireError(.sequenceSizeBelowMinimum(size)) }
        guard Int(size) <= remainingWithSize else {
            throw WireError(.sequenceSizeExceedsRemaining(size, remaining: remainingWithSize))
        }
        let messageEnd = reader.end
        reader.end = reader.position + Int(size) - 4
        let identifier = try reader.readCString("document sequence identifier")
        let context = "document sequence \"\(identifier)\""
        var documents: [[UInt8]] = []
        while !reader.isAtEnd {
            documents.append(try reader.readDocument(in: context))
        }
        reader.end = messageEnd
        return DocumentSequence(identifier: identifier, documents: documents)
    }
}

// MARK: - Encoding

extension OpMsg {
    /// Appends flagBits and sections; the checksum, which covers the header, is the caller's.
    func encodeBody(into bytes: inout [UInt8]) throws(WireError) {
        bytes.appendLE(flags.rawValue)
        bytes.append(SectionKind.body)
        try bytes.appendDocument(body, context: "body section")
        var identifiers: Set<String> = []
        for sequence in documentSequences {
            guard identifiers.insert(sequence.identifier).inserted else {
                throw WireError(.duplicateSequenceIdentifier(sequence.identifier))
            }
            bytes.append(SectionKind.documentSequence)
            let sizeOffset = bytes.count
            bytes.appendLE(Int32(0))
            try bytes.appendCString(sequence.identifier, field: "document sequence identifier")
            let context = "document sequence \"\(sequence.identifier)\""
            for document in sequence.documents {
                try bytes.appendDocument(document, context: context)
            }
            let size = bytes.count - sizeOffset
            guard let size32 = Int32(exactly: size) else {
                throw WireError(.encodedMessageTooLarge(byteCount: size))
            }
            bytes.storeLE(size32, at: sizeOffset)
        }
    }
}
