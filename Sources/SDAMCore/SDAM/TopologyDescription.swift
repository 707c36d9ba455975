import MongoBSON

/// The whole deployment as the monitor knows it, per the SDAM specification's
/// TopologyDescription. A value: every change makes a new one (see `TopologyStateMachine`).
public struct TopologyDescription: Sendable {
    public var type: TopologyType
    /// The replica set name: from the URI's `replicaSet`, or learned from the first member.
    public var setName: String?
    public var maxSetVersion: Int64?
    public var maxElectionId: BSONObjectID?
    public var servers: ServerMap
    /// Set when some server's wire versions do not overlap the driver's.
    public var compatibilityError: String?
    public var logicalSessionTimeoutMinutes: Int64?

    public init(
        type: TopologyType,
        setName: String? = nil,
        servers: ServerMap = [:]
    ) {
        self.type = type
        self.setName = setName
        self.servers = servers
    }

    /// The initial description the spec's "Initial TopologyDescription" prescribes: the
    /// initial type, the `replicaSet` name, and one Unknown description per seed.
    public init(settings: TopologySettings) {
        var servers = ServerMap()
        for seed in settings.seeds { servers[seed] = ServerDescription(address: seed) }
        self.init(type: settings.initialTopologyType, setName: settings.replicaSet, servers: servers)
    }

    public var isCompatible: Bool { compatibilityError == nil }

    /// Whether some server is a known RSPrimary (the test `checkIfHasPrimary` makes).
    public var hasPrimary: Bool { servers.values.contains { $0.type == .rsPrimary } }

    /// Server descriptions ordered by address, for stable output.
    public var sortedServers: [ServerDescription] { servers.values.sorted { $0.address < $1.address } }
}

extension TopologyDescription: Equatable {
    /// Equality for "TopologyDescriptionChanged": the scalar fields, and every server by the
    /// spec's Server Description Equality.
    public static func == (lhs: TopologyDescription, rhs: TopologyDescription) -> Bool {
        lhs.type == rhs.type && lhs.setName == rhs.setName && lhs.maxSetVersion == rhs.maxSetVersion
            && lhs.maxElectionId == rhs.maxElectionId && lhs.compatibilityError == rhs.compatibilityError
            && lhs.logicalSessionTimeoutMinutes == rhs.logicalSessionTimeoutMinutes
            && lhs.servers == rhs.servers
    }
}
