import MongoBSON
import SDAMCore

/// A legacy OP_REPLY (opcode 1): the server's answer to an OP_QUERY, read here only for the
/// legacy isMaster handshake.
public struct OpReply: Sendable, Hashable {
    /// OP_REPLY responseFlags (an int32 bit vector).
    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Bit 0: a getMore named a cursor the server does not have.
        public static let cursorNotFound = Flags(rawValue: 1 << 0)
        /// Bit 1: the query failed; the one document is an error document with `$err`.
        public static let queryFailure = Flags(rawValue: 1 << 1)
        /// Bit 2: internal to sharding; drivers ignore it.
        public static let shardConfigStale = Flags(rawValue: 1 << 2)
        /// Bit 3: the server supports awaitData (always set since 1.6).
        public static let awaitCapable = Flags(rawValue: 1 << 3)
    }

    /// The reply's flags; see `queryFailure`.
    public var responseFlags: Flags
    /// The open cursor, or 0 (always 0 for a command reply).
    public var cursorID: Int64
    /// Position of the first document in the cursor's results.
    public var startingFrom: Int32
    /// Raw BSON documents; their count is the wire's numberReturned.
    public var documents: [[UInt8]]

    /// Creates a reply; numberReturned is written as `documents.count`.
    public init(responseFlags: Flags = [], cursorID: Int64 = 0, startingFrom: Int32 = 0, documents: [[UInt8]]) {
        self.responseFlags = responseFlags
        self.cursorID = cursorID
        self.startingFrom = startingFrom
        self.documents = documents
    }

    /// True when the server flagged the query as failed: the reply document describes the
    /// error rather than answering the command.
    public var queryFailure: Bool { responseFlags.contains(.queryFailure) }

    init(reading reader: inout WireReader) throws(WireError) {
        responseFlags = Flags(rawValue: try reader.readInt32("OP_REPLY responseFlags"))
        cursorID = try reader.readInt64("OP_REPLY cursorID")
        startingFrom = try reader.readInt32("OP_REPLY startingFrom")
        let numberReturned = try reader.readInt32("OP_REPLY numberReturned")
        var documents: [[UInt8]] = []
        while !reader.isAtEnd {
            guard documents.count < numberReturned else {
                throw WireError(.trailingBytes(count: reader.remaining, context: "the \(numberReturned) OP_REPLY documents"))
            }
            documents.append(try reader.readDocument(in: "OP_REPLY documents"))
        }
        guard documents.count == numberReturned else {
            throw WireError(.numberReturnedMismatch(declared: numberReturned, actual: documents.count))
        }
        self.documents = documents
    }

    func encodeBody(into bytes: inout [UInt8]) throws(WireError) {
        bytes.appendLE(responseFlags.rawValue)
        bytes.appendLE(cursorID)
        bytes.appendLE(startingFrom)
        guard let count = Int32(exactly: documents.count) else {
            throw WireError(.encodedMessageTooLarge(byteCount: documents.count))
        }
        bytes.appendLE(count)
        for document in documents {
            try bytes.appendDocument(document, context: "OP_REPLY documents")
        }
    }
}
