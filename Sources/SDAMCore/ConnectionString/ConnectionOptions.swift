import MongoBSON

/// The options of a connection string, typed and validated, as the uri-options spec lists
/// them. Every property is nil when the connection string does not set it, so a consumer can
/// tell "not given" from a value equal to the default (SDAM's initial topology type depends on
/// whether `directConnection` and `replicaSet` were given at all); defaults belong to the spec
/// that uses each option.
///
/// Times are integers in the unit the option name ends with, as written.
public struct ConnectionOptions: Sendable, Hashable {
    // MARK: Discovery and monitoring

    /// The replica set name to require (`replicaSet`).
    public var replicaSet: String?
    /// Whether to connect to the one seed as a Single topology (`directConnection`).
    public var directConnection: Bool?
    /// Whether the seed is a load balancer (`loadBalanced`).
    public var loadBalanced: Bool?
    /// Interval between server checks; at least 500 (`heartbeatFrequencyMS`).
    public var heartbeatFrequencyMS: Int?
    /// Polling or streaming monitoring (`serverMonitoringMode`).
    public var serverMonitoringMode: ServerMonitoringMode?
    /// Sent in the handshake's client metadata (`appname`).
    public var appName: String?

    // MARK: Server selection

    /// Mode, tag sets (`readPreferenceTags`, in URI order) and `maxStalenessSeconds` (the URI's
    /// -1 is nil). Nil when none of the three is given.
    public var readPreference: ReadPreference?
    /// How long selection may wait; positive (`serverSelectionTimeoutMS`).
    public var serverSelectionTimeoutMS: Int?
    /// Single-threaded drivers' "scan once, then fail" (`serverSelectionTryOnce`).
    public var serverSelectionTryOnce: Bool?
    /// Single-threaded drivers: a connection idle this long is checked before it is used
    /// (`socketCheckIntervalMS`); non-negative.
    public var socketCheckIntervalMS: Int?
    /// Width of the latency window; non-negative (`localThresholdMS`).
    public var localThresholdMS: Int?

    // MARK: Timeouts

    /// Time to establish one TCP connection, also used for monitoring checks; 0 = none.
    public var connectTimeoutMS: Int?
    /// Time a socket read or write may take for application operations; 0 = none.
    public var socketTimeoutMS: Int?
    /// Client-side operation timeout; 0 = none (`timeoutMS`).
    public var timeoutMS: Int64?

    // MARK: Connection pools

    /// Maximum connections per server pool; 0 = no maximum.
    public var maxPoolSize: Int?
    /// Connections a pool keeps open even when idle.
    public var minPoolSize: Int?
    /// Idle time after which a pooled connection is closed; 0 = never.
    public var maxIdleTimeMS: Int?
    /// Time a checkout may wait for a connection; positive.
    public var waitQueueTimeoutMS: Int?
    /// Connections a pool may establish at once; positive.
    public var maxConnecting: Int?

    // MARK: TLS

    /// `tls`, or its alias `ssl` (every instance of both must agree).
    public var tls: Bool?
    public var tlsInsecure: Bool?
    public var tlsAllowInvalidCertificates: Bool?
    public var tlsAllowInvalidHostnames: Bool?
    public var tlsCAFile: String?
    public var tlsCertificateKeyFile: String?
    public var tlsCertificateKeyFilePassword: String?
    public var tlsDisableOCSPEndpointCheck: Bool?
    public var tlsDisableCertificateRevocationCheck: Bool?

    // MARK: Authentication

    /// Any string; the auth spec decides which mechanisms exist.
    public var authMechanism: String?
    public var authSource: String?
    /// `key:value` pairs; values keep their case and may contain `:`.
    public var authMechanismProperties: [String: String]?

    // MARK: Compression

    /// Known compressor names in the order given (unknown names are dropped with a warning).
    public var compressors: [String]?
    /// -1 (zlib's default) to 9.
    public var zlibCompressionLevel: Int?

    // MARK: Retries and overload

    public var retryReads: Bool?
    public var retryWrites: Bool?
    /// Client backpressure: retries allowed after overload errors; non-negative.
    public var maxAdaptiveRetries: Int?
    /// Client backpressure: whether a retry after overload avoids the overloaded server.
    public var enableOverloadRetargeting: Bool?

    // MARK: Read and write concern

    public var w: WriteConcernW?
    public var journal: Bool?
    /// Write concern `wtimeout`; a 64-bit non-negative integer.
    public var wTimeoutMS: Int64?
    /// Any string, for forward compatibility with server levels.
    public var readConcernLevel: String?

    // MARK: mongodb+srv

    /// How many SRV results to use; 0 = all. Only with `mongodb+srv`.
    public var srvMaxHosts: Int?
    /// The SRV service name (RFC 6335), "mongodb" when nil. Only with `mongodb+srv`.
    public var srvServiceName: String?

    // MARK: SOCKS5 proxy

    public var proxyHost: String?
    public var proxyPort: Int?
    public var proxyUsername: String?
    public var proxyPassword: String?

    public init() {}
}

/// How servers are monitored (`serverMonitoringMode`), per the SDAM spec.
public enum ServerMonitoringMode: String, Sendable, Hashable, CaseIterable {
    /// Streaming where the runtime allows it (not on FaaS platforms), else polling.
    case auto
    /// The streaming protocol (awaitable hello) when the server supports it.
    case stream
    /// Polling: one hello every heartbeatFrequencyMS.
    case poll
}

/// The write concern's `w`: a number of members, or a string such as "majority" or a tag set
/// name.
public enum WriteConcernW: Sendable, Hashable {
    case count(Int)
    case tag(String)
}

extension ConnectionOptions: CustomReflectable {
    /// The options, with `tlsCertificateKeyFilePassword` and `proxyPassword` as `***` and
    /// authMechanismProperties' values hidden, so `dump` and reflection never print a secret.
    /// (A stored property added to the struct must be added here too:
    /// `ConnectionStringRedactionTests` compares this list with the type's stored fields.)
    public var customMirror: Mirror {
        Mirror(self, children: [
            "replicaSet": replicaSet as Any,
            "directConnection": directConnection as Any,
            "loadBalanced": loadBalanced as Any,
            "heartbeatFrequencyMS": heartbeatFrequencyMS as Any,
            "serverMonitoringMode": serverMonitoringMode as Any,
            "appName": appName as Any,
            "readPreference": readPreference as Any,
            "serverSelectionTimeoutMS": serverSelectionTimeoutMS as Any,
            "serverSelectionTryOnce": serverSelectionTryOnce as Any,
            "socketCheckIntervalMS": socketCheckIntervalMS as Any,
            "localThresholdMS": localThresholdMS as Any,
            "connectTimeoutMS": connectTimeoutMS as Any,
            "socketTimeoutMS": socketTimeoutMS as Any,
            "timeoutMS": timeoutMS as Any,
            "maxPoolSize": maxPoolSize as Any,
            "minPoolSize": minPoolSize as Any,
            "maxIdleTimeMS": maxIdleTimeMS as Any,
            "waitQueueTimeoutMS": waitQueueTimeoutMS as Any,
            "maxConnecting": maxConnecting as Any,
            "tls": tls as Any,
            "tlsInsecure": tlsInsecure as Any,
            "tlsAllowInvalidCertificates": tlsAllowInvalidCertificates as Any,
            "tlsAllowInvalidHostnames": tlsAllowInvalidHostnames as Any,
            "tlsCAFile": tlsCAFile as Any,
            "tlsCertificateKeyFile": tlsCertificateKeyFile as Any,
            "tlsCertificateKeyFilePassword": tlsCertificateKeyFilePassword.map { _ in "***" } as Any,
            "tlsDisableOCSPEndpointCheck": tlsDisableOCSPEndpointCheck as Any,
            "tlsDisableCertificateRevocationCheck": tlsDisableCertificateRevocationCheck as Any,
            "authMechanism": authMechanism as Any,
            "authSource": authSource as Any,
            "authMechanismProperties": authMechanismProperties.map { $0.keys.sorted().map { "\($0): ***" } } as Any,
            "compressors": compressors as Any,
            "zlibCompressionLevel": zlibCompressionLevel as Any,
            "retryReads": retryReads as Any,
            "retryWrites": retryWrites as Any,
            "maxAdaptiveRetries": maxAdaptiveRetries as Any,
            "enableOverloadRetargeting": enableOverloadRetargeting as Any,
            "w": w as Any,
            "journal": journal as Any,
            "wTimeoutMS": wTimeoutMS as Any,
            "readConcernLevel": readConcernLevel as Any,
            "srvMaxHosts": srvMaxHosts as Any,
            "srvServiceName": srvServiceName as Any,
            "proxyHost": proxyHost as Any,
            "proxyPort": proxyPort as Any,
            "proxyUsername": proxyUsername as Any,
            "proxyPassword": proxyPassword.map { _ in "***" } as Any,
        ], displayStyle: .struct)
    }
}
