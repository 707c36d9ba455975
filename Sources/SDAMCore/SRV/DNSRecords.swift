/// One SRV record of an answer (RFC 2782), as the resolver parsed it. Priority and weight are
/// kept for display only: the seedlist discovery spec says to ignore them.
public struct SRVRecord: Sendable, Hashable, CustomStringConvertible {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    /// The target host name as the answer gives it (case and any trailing dot kept).
    public var target: String
    /// Seconds the record may be cached; nil when the resolver could not tell.
    public var ttl: UInt32?

    public init(priority: UInt16 = 0, weight: UInt16 = 0, port: UInt16, target: String, ttl: UInt32? = nil) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
        self.ttl = ttl
    }

    /// "target:port (TTL 86400 s)".
    public var description: String {
        "\(target):\(port)" + (ttl.map { " (TTL \($0) s)" } ?? "")
    }
}

/// One TXT record: its character strings in the order the record holds them (RFC 1035 3.3.14).
public struct TXTRecord: Sendable, Hashable {
    public var strings: [String]
    public var ttl: UInt32?

    public init(strings: [String], ttl: UInt32? = nil) {
        self.strings = strings
        self.ttl = ttl
    }

    /// The strings concatenated, as the seedlist discovery spec reads a record.
    public var text: String { strings.joined() }
}

/// Why a DNS lookup brought no answer: the record type, the name asked for and the resolver's
/// reason, worded as "SRV lookup of _mongodb._tcp.cluster0.example.net failed: NXDOMAIN".
public struct DNSLookupError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum RecordType: String, Sendable, Hashable {
        case srv = "SRV"
        case txt = "TXT"
    }

    /// What the resolver said.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The name does not exist (RCODE 3).
        case nameDoesNotExist
        /// The name exists but has no record of the type (NOERROR with an empty answer).
        case noRecords
        /// No server answered in time.
        case timedOut
        /// A server failed or the answer could not be had now (SERVFAIL, or a timeout the
        /// resolver did not tell apart).
        case temporaryFailure
        /// A server refused the query or found it malformed (REFUSED, FORMERR, NOTIMP).
        case refused
        /// The answer could not be parsed, or anything else, in the resolver's words.
        case other(String)

        public var description: String {
            switch self {
            case .nameDoesNotExist: "NXDOMAIN"
            case .noRecords: "no records (NODATA)"
            case .timedOut: "timed out"
            case .temporaryFailure: "SERVFAIL or no answer in time (TRY_AGAIN)"
            case .refused: "refused (REFUSED, FORMERR or NOTIMP)"
            case .other(let text): text
            }
        }
    }

    public var type: RecordType
    /// The name queried, without a trailing dot.
    public var name: String
    public var reason: Reason

    public init(type: RecordType, name: String, reason: Reason) {
        self.type = type
        self.name = name
        self.reason = reason
    }

    /// Whether the answer says there is nothing to find (the name or its records do not exist),
    /// as opposed to a failure to get an answer.
    public var isNegativeAnswer: Bool {
        reason == .nameDoesNotExist || reason == .noRecords
    }

    public var description: String {
        "\(type.rawValue) lookup of \(name) failed: \(reason)"
    }
}
