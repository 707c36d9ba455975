/// The whole deployment as the monitor knows it, per the SDAM specification's
/// TopologyDescription. A value: every change makes a new one (see `TopologyStateMachine`).
public struct TopologyDescription: Sendable {
    public var type: TopologyType
    /// The replica set name: from the URI's `replicaSet`, or learned from the first member.
    public var setName: String?
    public var maxSetVersion: Int64?
    public var maxElectionId: BSONObjectID?
    public var servers: [ServerAddress: ServerDescription]
    /// Set when some server's wire versions do not overlap the driver's.
    public var compatibilityError: String?
    public var logicalSessionTimeoutMinutes: Int64?

    public init(
        type: TopologyType,
        setName: String? = nil,
        servers: [ServerAddress: ServerDescription] = [:]
    ) {
        self.type = type
        self.setName = setName
        self.servers = servers
    }

    public var isCompatible: Bool { compatibilityError == nil }
}
