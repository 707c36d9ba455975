import MongoBSON
import SDAMCore

/// A legacy OP_QUERY (opcode 2004). This driver writes it only for the legacy isMaster
/// handshake against servers that may predate OP_MSG; decoding exists for simulated servers
/// and tests.
public struct OpQuery: Sendable, Hashable {
    /// OP_QUERY flags (an int32 bit vector).
    public struct Flags: OptionSet, Sendable, Hashable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// Bit 1: keep the cursor open after the last result.
        public static let tailableCursor = Flags(rawValue: 1 << 1)
        /// Bit 2 (formerly slaveOk): the query may run on a secondary.
        public static let secondaryOk = Flags(rawValue: 1 << 2)
        /// Bit 3: an oplog query optimisation (ignored by modern servers).
        public static let oplogReplay = Flags(rawValue: 1 << 3)
        /// Bit 4: the server must not time the cursor out.
        public static let noCursorTimeout = Flags(rawValue: 1 << 4)
        /// Bit 5: with tailableCursor, block for a while when no data is left.
        public static let awaitData = Flags(rawValue: 1 << 5)
        /// Bit 6: stream all results without further getMore requests.
        public static let exhaust = Flags(rawValue: 1 << 6)
        /// Bit 7: accept partial results from a sharded cluster with shards down.
        public static let partial = Flags(rawValue: 1 << 7)
    }

    /// The query flags; the handshake sets `.secondaryOk` so that any member answers.
    public var flags: Flags
    /// "database.collection"; "admin.$cmd" for a command.
    public var fullCollectionName: String
    /// Documents to skip; 0 for a command.
    public var numberToSkip: Int32
    /// -1 for a command: one reply document, and close the cursor.
    public var numberToReturn: Int32
    /// The query (for a command, the command document), raw BSON.
    public var query: [UInt8]
    /// Optional projection, raw BSON.
    public var returnFieldsSelector: [UInt8]?

    /// Creates a query; the defaults suit a command sent to "admin.$cmd".
    public init(
        flags: Flags = [], fullCollectionName: String, numberToSkip: Int32 = 0,
        numberToReturn: Int32 = -1, query: [UInt8], returnFieldsSelector: [UInt8]? = nil
    ) {
        self.flags = flags
        self.fullCollectionName = fullCollectionName
        self.numberToSkip = numberToSkip
        self.numberToReturn = numberToReturn
        self.query = query
        self.returnFieldsSelector = returnFieldsSelector
    }

    init(reading reader: inout WireReader) throws(WireError) {
        flags = Flags(rawValue: try reader.readInt32("OP_QUERY flags"))
        fullCollectionName = try reader.readCString("OP_QUERY fullCollectionName")
        numberToSkip = try reader.readInt32("OP_QUERY numberToSkip")
        numberToReturn = try reader.readInt32("OP_QUERY numberToReturn")
        query = try reader.readDocument(in: "OP_QUERY query")
        returnFieldsSelector = reader.isAtEnd ? nil : try reader.readDocument(in: "OP_QUERY returnFieldsSelector")
        guard reader.isAtEnd else {
            throw WireError(.trailingBytes(count: reader.remaining, context: "the OP_QUERY returnFieldsSelector"))
        }
    }

    func encodeBody(into bytes: inout [UInt8]) throws(WireError) {
        bytes.appendLE(flags.rawValue)
        try bytes.appendCString(fullCollectionName, field: "OP_QUERY fullCollectionName")
        bytes.appendLE(numberToSkip)
        bytes.appendLE(numberToReturn)
        try bytes.appendDocument(query, context: "OP_QUERY query")
        if let returnFieldsSelector {
            try bytes.appendDocument(returnFieldsSelector, context: "OP_QUERY returnFieldsSelector")
        }
    }
}
