import MongoBSON

/// What the client was configured with that SDAM needs: the seed list and the options that
/// choose the initial TopologyType, plus the monitoring and selection intervals.
///
/// Built by the connection-string parser (or directly); `validate()` enforces the spec's
/// "Allowed configuration combinations".
public struct TopologySettings: Sendable, Equatable {
    /// Seed addresses, lowercased by `ServerAddress`. Order is kept (it is the user's).
    public var seeds: [ServerAddress]
    /// The `replicaSet` option: the required set name.
    public var replicaSet: String?
    /// The `directConnection` option; nil when not given (treated as false, as the spec
    /// requires of new drivers).
    public var directConnection: Bool?
    public var loadBalanced: Bool
    /// Interval between checks of one server, counted from the end of a check
    /// (`heartbeatFrequencyMS`; at least `SDAMDefaults.minHeartbeatFrequency`).
    public var heartbeatFrequency: Duration
    /// Width of the latency window in server selection (`localThresholdMS`).
    public var localThreshold: Duration
    /// How long a selection waits for a suitable server (`serverSelectionTimeoutMS`).
    public var serverSelectionTimeout: Duration
    /// The wire protocol range this driver speaks (`clientMinWireVersion...clientMaxWireVersion`).
    public var supportedWireVersions: ClosedRange<Int>
    /// For a `mongodb+srv://` client: where the seeds come from. Until its records are read,
    /// `seeds` is empty; afterwards they are the records' hosts, and Sharded and Unknown
    /// topologies keep rescanning them (polling spec).
    public var srv: SRVSeedlist?

    public init(
        seeds: [ServerAddress],
        replicaSet: String? = nil,
        directConnection: Bool? = nil,
        loadBalanced: Bool = false,
        heartbeatFrequency: Duration = SDAMDefaults.heartbeatFrequency,
        localThreshold: Duration = SDAMDefaults.localThreshold,
        serverSelectionTimeout: Duration = SDAMDefaults.serverSelectionTimeout,
        supportedWireVersions: ClosedRange<Int> = WireVersion.supported
    ) {
        self.seeds = seeds
        self.replicaSet = replicaSet
        self.directConnection = directConnection
        self.loadBalanced = loadBalanced
        self.heartbeatFrequency = heartbeatFrequency
        self.localThreshold = localThreshold
        self.serverSelectionTimeout = serverSelectionTimeout
        self.supportedWireVersions = supportedWireVersions
    }

    /// For the package's tests, which think in the connection string's milliseconds.
    package init(seeds: [ServerAddress], replicaSet: String? = nil, directConnection: Bool? = nil, heartbeatFrequencyMS: Int) {
        self.init(seeds: seeds, replicaSet: replicaSet, directConnection: directConnection, heartbeatFrequency: .milliseconds(heartbeatFrequencyMS))
    }

    /// `heartbeatFrequency` in milliseconds, the unit of the monotonic schedules.
    package var heartbeatFrequencyMS: Int { Int(heartbeatFrequency.inMilliseconds) }
    /// `localThreshold` in milliseconds, the unit the selection rules compare RTTs in.
    package var localThresholdMS: Int { Int(localThreshold.inMilliseconds) }

    /// The spec's "Initial TopologyType" table, with loadBalanced first (the load balancer
    /// spec's own topology type).
    public var initialTopologyType: TopologyType {
        if loadBalanced { return .loadBalanced }
        if directConnection == true { return .single }
        return replicaSet != nil ? .replicaSetNoPrimary : .unknown
    }

    /// These settings with what DNS gave a `mongodb+srv://` client: its seeds, and the
    /// `replicaSet` and `loadBalanced` a TXT record may set. Not validated: see `validate()`.
    public func resolved(by seedlist: ResolvedSeedlist) -> TopologySettings {
        var settings = self
        let options = seedlist.connectionString.options
        settings.seeds = seedlist.seeds
        settings.replicaSet = options.replicaSet
        settings.loadBalanced = options.loadBalanced ?? false
        return settings
    }

    /// Whether the seeds are still to come from DNS (a `mongodb+srv://` client before its
    /// first answer).
    public var awaitsSeedlist: Bool { srv != nil && seeds.isEmpty }

    /// Checks the spec's allowed configuration combinations.
    /// - Throws: `TopologySettingsError` naming the offending combination.
    public func validate() throws(TopologySettingsError) {
        if seeds.isEmpty, srv == nil { throw TopologySettingsError("at least one seed address is required") }
        if directConnection == true && seeds.count > 1 {
            throw TopologySettingsError("directConnection=true cannot be used with multiple seeds (\(seeds.count) given)")
        }
        if loadBalanced {
            if directConnection == true { throw TopologySettingsError("loadBalanced=true cannot be used with directConnection=true") }
            if replicaSet != nil { throw TopologySettingsError("loadBalanced=true cannot be used with replicaSet") }
            if seeds.count > 1 { throw TopologySettingsError("loadBalanced=true requires exactly one host, \(seeds.count) given") }
        }
        if heartbeatFrequency < SDAMDefaults.minHeartbeatFrequency {
            throw TopologySettingsError("heartbeatFrequencyMS must be at least \(SDAMDefaults.minHeartbeatFrequency.inMilliseconds), got \(heartbeatFrequency.inMilliseconds)")
        }
        if localThreshold < .zero { throw TopologySettingsError("localThresholdMS must not be negative, got \(localThreshold)") }
    }
}

/// A combination of topology options the SDAM specification forbids.
public struct TopologySettingsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Wire protocol versions this driver supports, and the MongoDB release each lower bound
/// means (for the spec's compatibility error text).
public enum WireVersion {
    /// MongoDB 4.2 (wire 8) through 8.2 (wire 27): 4.0 and older are out of support, as in
    /// current drivers; the spec tests' "post-4.2" error cases use wire 8.
    public static let supported: ClosedRange<Int> = 8...27

    /// The first MongoDB release that speaks `wireVersion`, for messages.
    public static func mongoDBVersion(forWireVersion wireVersion: Int) -> String {
        let table: [Int: String] = [
            6: "3.6", 7: "4.0", 8: "4.2", 9: "4.4", 13: "5.0", 14: "5.1", 17: "6.0",
            21: "7.0", 25: "8.0", 26: "8.1", 27: "8.2",
        ]
        return table[wireVersion] ?? "wire version \(wireVersion)"
    }

    /// Servers at or below this wire version (MongoDB 4.0) close connections on stepdown, so
    /// their pools are cleared on "not writable primary" errors and on primary invalidation.
    public static let lastBefore42 = 7
    /// From this wire version (MongoDB 6.0) a primary's (electionId, setVersion) ordering
    /// puts electionId first.
    public static let electionIdFirst = 17
}
