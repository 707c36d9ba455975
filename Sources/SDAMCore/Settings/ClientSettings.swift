import MongoBSON

/// Which kind of client reads the settings: the defaults of heartbeatFrequencyMS and
/// socketTimeoutMS, and which options have an effect, differ between them.
public enum ClientKind: Sendable, Equatable {
    /// `ClientPool`: a monitor thread checks servers in the background.
    case pooled
    /// `SingleThreadedClient`: the caller's thread scans before operations (server-monitoring
    /// spec, "Single-threaded monitoring").
    case singleThreaded
}

/// The one configuration of a client: what the topology, its monitor and the pool work by,
/// parsed from the connection string once (`init(connectionString:)`) and read by all three.
/// Options the string leaves out take `SDAMDefaults`.
///
/// Each option lives in exactly one place: the topology's (seeds, replica set, the initial
/// topology type, heartbeat, selection), the monitor's (connect timeout, application name,
/// monitoring mode) or the pool's (below).
public struct ClientSettings: Sendable, Equatable {
    /// Seeds and the SDAM options.
    public var topology: TopologySettings
    /// How servers are checked, and the connect timeout every connection uses.
    public var monitoring: MonitorOptions
    /// Clients the pool hands out at most (`maxPoolSize`; 0 means no limit).
    public var maxPoolSize: Int = SDAMDefaults.maxPoolSize
    /// How long `pop()` waits for a free client, and a check-out for a connection
    /// (`waitQueueTimeoutMS`); nil waits until one is free or the pool closes.
    public var waitQueueTimeout: Duration?
    /// Connections each server's pool keeps open (`minPoolSize`), populated in the background.
    public var minPoolSize = 0
    /// An idle pooled connection is closed after this (`maxIdleTimeMS`); nil = never.
    public var maxIdleTime: Duration?
    /// Connections one server's pool establishes at once (`maxConnecting`).
    public var maxConnecting = SDAMDefaults.maxConnecting
    /// How commands are retried after overload errors (`maxAdaptiveRetries`,
    /// `enableOverloadRetargeting`; client-backpressure spec).
    public var overloadRetry = OverloadRetryPolicy()
    /// One command's send and reply on an application connection (`socketTimeoutMS`); nil =
    /// none.
    public var socketTimeout: Duration?
    /// The URI's read preference (`readPreference`, `readPreferenceTags`,
    /// `maxStalenessSeconds`). `runCommand` ignores it, as the spec's generic command method
    /// must; it is here for helpers built on top.
    public var readPreference: ReadPreference = .primary
    /// How connections use TLS; nil: plaintext. From the `tls*` options, and on by default for
    /// `mongodb+srv` (see ``TLSSettings``).
    public var tls: TLSSettings?
    /// Who application connections authenticate as; nil: no authentication. Monitoring
    /// connections never authenticate (auth spec), except a single-threaded client's, which
    /// are its application connections too.
    public var credential: MongoCredential?
    /// Single-threaded clients: fail after one scan when selection finds nothing suitable
    /// (`serverSelectionTryOnce`, default true), rather than scan every
    /// minHeartbeatFrequencyMS until serverSelectionTimeoutMS.
    public var serverSelectionTryOnce = true
    /// Single-threaded clients: a connection idle this long is checked before it is used
    /// (`socketCheckIntervalMS`, default 5 s).
    public var socketCheckInterval: Duration = SDAMDefaults.socketCheckInterval

    /// Settings for `seeds` with every other option at its default.
    public init(seeds: [ServerAddress]) {
        topology = TopologySettings(seeds: seeds)
        monitoring = MonitorOptions()
    }

    public init(topology: TopologySettings, monitoring: MonitorOptions = MonitorOptions()) {
        self.topology = topology
        self.monitoring = monitoring
    }

    /// The settings a parsed connection string asks for: its hosts as seeds and its options,
    /// with the defaults of `kind` (a single-threaded client's heartbeat is 60 s, and its
    /// socketTimeoutMS 5 minutes unless given; it always polls).
    ///
    /// A `mongodb+srv://` string gives settings with no seeds yet and `topology.srv` set: the
    /// monitor reads the SRV and TXT records in the background (no I/O here) and completes
    /// them with ``resolved(by:)``.
    ///
    /// - Throws: `ClientSettingsError.unsupportedConfiguration` when a host is a UNIX domain
    ///   socket (not monitored by this driver yet), when a single-threaded client is asked for
    ///   `mongodb+srv://` (its scans do not read SRV records yet), or when the combination
    ///   breaks the SDAM spec's allowed configurations; `.invalidCredential` when the
    ///   credential breaks the auth spec's rules (see ``ConnectionString/credential``).
    public init(connectionString: ConnectionString, for kind: ClientKind = .pooled) throws(ClientSettingsError) {
        let srv = SRVSeedlist(connectionString: connectionString)
        if srv != nil, kind == .singleThreaded {
            throw .unsupported("mongodb+srv:// is not supported by the single-threaded client yet (its scans do not read SRV records); use ClientPool, or list the hosts with mongodb://")
        }
        var seeds: [ServerAddress] = []
        for host in connectionString.hosts where srv == nil {
            guard let address = host.serverAddress else {
                throw .unsupported("host \(host) is a UNIX domain socket, which this driver does not monitor yet")
            }
            seeds.append(address)
        }
        do {
            credential = try connectionString.credential
        } catch {
            throw .invalidCredential(error)
        }
        tls = TLSSettings(connectionString: connectionString)
        let options = connectionString.options
        let defaultHeartbeat = kind == .pooled ? SDAMDefaults.heartbeatFrequency : SDAMDefaults.singleThreadedHeartbeatFrequency
        topology = TopologySettings(
            seeds: seeds,
            replicaSet: options.replicaSet,
            directConnection: options.directConnection,
            loadBalanced: options.loadBalanced ?? false,
            heartbeatFrequency: options.heartbeatFrequencyMS.map { .milliseconds($0) } ?? defaultHeartbeat,
            localThreshold: options.localThresholdMS.map { .milliseconds($0) } ?? SDAMDefaults.localThreshold,
            serverSelectionTimeout: options.serverSelectionTimeoutMS.map { .milliseconds($0) } ?? SDAMDefaults.serverSelectionTimeout
        )
        monitoring = MonitorOptions(
            connectTimeout: options.connectTimeoutMS.map { Duration.optionalTimeout(milliseconds: $0) } ?? SDAMDefaults.connectTimeout,
            appName: options.appName,
            // Single-threaded clients poll: the streaming protocol needs a thread (or task) that
            // waits for the server's pushes.
            serverMonitoringMode: kind == .pooled ? options.serverMonitoringMode ?? .auto : .poll
        )
        if let maxPoolSize = options.maxPoolSize { self.maxPoolSize = maxPoolSize }
        waitQueueTimeout = .optionalTimeout(milliseconds: options.waitQueueTimeoutMS)
        if let minPoolSize = options.minPoolSize { self.minPoolSize = minPoolSize }
        maxIdleTime = .optionalTimeout(milliseconds: options.maxIdleTimeMS)
        if let maxConnecting = options.maxConnecting { self.maxConnecting = maxConnecting }
        overloadRetry = OverloadRetryPolicy(
            maxAttempts: options.maxAdaptiveRetries ?? OverloadRetryPolicy.defaultMaxAttempts,
            retargets: options.enableOverloadRetargeting ?? true)
        socketTimeout = .optionalTimeout(milliseconds: options.socketTimeoutMS)
        if kind == .singleThreaded, options.socketTimeoutMS == nil { socketTimeout = SDAMDefaults.singleThreadedSocketTimeout }
        if let tryOnce = options.serverSelectionTryOnce { serverSelectionTryOnce = tryOnce }
        if let interval = options.socketCheckIntervalMS { socketCheckInterval = .milliseconds(interval) }
        if let readPreference = options.readPreference { self.readPreference = readPreference }
        topology.srv = srv
        do {
            try topology.validate()
        } catch {
            throw .unsupportedConfiguration(error)
        }
    }

    /// These settings completed by what DNS gave a `mongodb+srv://` client: the seeds, and
    /// the options a TXT record may set (`replicaSet`, `loadBalanced`, and `authSource` for
    /// the credential). Everything else stays as it is, adjustments made in code included.
    /// - Throws: `.invalidCredential` when the TXT record's authSource breaks the auth spec's
    ///   rules; `.unsupportedConfiguration` when the topology breaks the SDAM spec's.
    public func resolved(by seedlist: ResolvedSeedlist) throws(ClientSettingsError) -> ClientSettings {
        var settings = self
        settings.topology = topology.resolved(by: seedlist)
        do {
            settings.credential = try seedlist.connectionString.credential
        } catch {
            throw .invalidCredential(error)
        }
        do {
            try settings.topology.validate()
        } catch {
            throw .unsupportedConfiguration(error)
        }
        return settings
    }

    /// Each server's connection pool options: maxPoolSize bounds the connections per server as
    /// it bounds the clients the pool hands out.
    public var connectionPool: ConnectionPoolOptions {
        ConnectionPoolOptions(maxPoolSize: maxPoolSize, minPoolSize: minPoolSize, maxIdleTime: maxIdleTime,
                              maxConnecting: maxConnecting, waitQueueTimeout: waitQueueTimeout)
    }

    /// The pure selector these settings configure.
    public var selector: ServerSelector {
        ServerSelector(localThresholdMS: topology.localThresholdMS, heartbeatFrequencyMS: topology.heartbeatFrequencyMS)
    }
}

/// Why `ClientSettings(connectionString:)` refused a parsed connection string.
public enum ClientSettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The credential breaks the auth spec's rules: the connection string is invalid (the
    /// error never contains the password).
    case invalidCredential(ConnectionStringError)
    /// Something this driver cannot do yet (UNIX domain sockets), or a topology the SDAM spec
    /// forbids.
    case unsupportedConfiguration(TopologySettingsError)

    static func unsupported(_ reason: String) -> ClientSettingsError {
        .unsupportedConfiguration(TopologySettingsError(reason))
    }

    public var description: String {
        switch self {
        case .invalidCredential(let error): return error.description
        case .unsupportedConfiguration(let error): return error.description
        }
    }
}
