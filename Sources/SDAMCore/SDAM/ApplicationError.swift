import MongoBSON

/// An error an application operation met on a server, fed back into SDAM per the spec's
/// "Error handling" section (`topology.handleApplicationError(...)` in the test README).
public struct ApplicationError: Sendable, Equatable {
    /// When the error happened on the connection's life.
    public enum Phase: String, Sendable, Equatable {
        /// While establishing a new connection: TCP, TLS, the handshake hello, authentication.
        case beforeHandshakeCompletes
        /// On an established connection, after pool check-out.
        case afterHandshakeCompletes
    }

    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// A network error other than a timeout (reset, EOF, refused...).
        case network
        /// A network timeout.
        case timeout
        /// A server reply carrying an error: `ok: 0` with `code`/`errmsg`, or a
        /// `writeConcernError`. Its `topologyVersion`, if any, is read from the reply.
        case command(BSONDocument)
        /// Authentication failed with a command error (e.g. AuthenticationFailed, code 18).
        case authentication(String)
    }

    public var address: ServerAddress
    /// The generation of the connection the error occurred on (for an error before the
    /// handshake completed, the pool's generation when the attempt started). Nil means the
    /// pool's current generation.
    public var generation: Int?
    /// The maxWireVersion of that connection's handshake (decides pool clearing for pre-4.2).
    public var maxWireVersion: Int
    public var phase: Phase
    public var kind: Kind
    /// The connection's serviceId in load-balanced mode.
    public var serviceId: BSONObjectID?
    /// What the error said (e.g. "connection reset by peer"), for the server's description.
    public var detail: String?
    /// A failure while establishing a connection that is not the server shedding load: the
    /// host did not resolve, or the handshake reply could not be read (CMAP's backpressure
    /// rules). It gets no backpressure labels, and SDAM marks the server Unknown for it.
    public var isNotBackpressure = false

    public init(
        address: ServerAddress,
        generation: Int? = nil,
        maxWireVersion: Int,
        phase: Phase,
        kind: Kind,
        serviceId: BSONObjectID? = nil,
        detail: String? = nil
    ) {
        self.detail = detail
        self.address = address
        self.generation = generation
        self.maxWireVersion = maxWireVersion
        self.phase = phase
        self.kind = kind
        self.serviceId = serviceId
    }

    /// Error labels the driver adds to this error before returning it to the application.
    /// A network error or timeout while establishing a connection is the server shedding load
    /// (connection backpressure): it gets `SystemOverloadedError` and `RetryableError`, and SDAM
    /// leaves the server and its pool alone.
    public var backpressureLabels: [String] {
        if isNotBackpressure { return [] }
        switch (phase, kind) {
        case (.beforeHandshakeCompletes, .network), (.beforeHandshakeCompletes, .timeout):
            return ["SystemOverloadedError", "RetryableError"]
        default:
            return []
        }
    }
}

/// A "not writable primary" or "node is recovering" error read from a command reply, per the
/// spec's State Change Error rules: the numeric code decides when there is one; only without
/// a code do the legacy message substrings count. Errors inside `writeErrors` never count.
public struct StateChangeError: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case notWritablePrimary = "not writable primary"
        case nodeIsRecovering = "node is recovering"
    }

    public var kind: Kind
    public var code: Int?
    public var message: String
    /// The reply's `topologyVersion` (MongoDB 4.4+).
    public var topologyVersion: TopologyVersion?

    public static let recoveringCodes: Set<Int> = [11600, 11602, 13436, 189, 91]
    public static let notWritablePrimaryCodes: Set<Int> = [10107, 13435, 10058]
    /// InterruptedAtShutdown and ShutdownInProgress: the "node is shutting down" subset.
    public static let shutdownCodes: Set<Int> = [11600, 91]

    /// Whether the server is shutting down (its connections are all going away).
    public var isShutdown: Bool { code.map(Self.shutdownCodes.contains) ?? false }

    /// Classifies a code and message; nil when they are not a state change.
    public static func classify(code: Int?, message: String) -> Kind? {
        if let code {
            if recoveringCodes.contains(code) { return .nodeIsRecovering }
            if notWritablePrimaryCodes.contains(code) { return .notWritablePrimary }
            return nil
        }
        if message.contains("node is recovering") || message.contains("not master or secondary") {
            return .nodeIsRecovering
        }
        return message.contains("not master") ? .notWritablePrimary : nil
    }

    /// Reads a command reply: the top-level error when `ok` is not true, else its
    /// `writeConcernError`. Nil when the reply holds no state change error.
    public init?(reply: BSONDocument) {
        let source: BSONDocument
        if reply["ok"]?.isTruthy != true {
            source = reply
        } else if let wce = reply["writeConcernError"]?.documentValue {
            source = wce
        } else {
            return nil
        }
        let code = source["code"]?.int64Value.flatMap { Int(exactly: $0) }
        let message = source["errmsg"]?.stringValue ?? source["$err"]?.stringValue ?? source["err"]?.stringValue ?? ""
        guard let kind = Self.classify(code: code, message: message) else { return nil }
        self.kind = kind
        self.code = code
        self.message = message
        let tvDoc = reply["topologyVersion"]?.documentValue ?? source["topologyVersion"]?.documentValue
        self.topologyVersion = tvDoc.flatMap { try? TopologyVersion(document: $0) }
    }
}
