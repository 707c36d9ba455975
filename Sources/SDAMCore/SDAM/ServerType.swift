import MongoBSON

/// The server types of the SDAM specification, with the spec's names as raw values.
public enum ServerType: String, Sendable, Hashable, CaseIterable {
    case unknown = "Unknown"
    case standalone = "Standalone"
    case mongos = "Mongos"
    case possiblePrimary = "PossiblePrimary"
    case rsPrimary = "RSPrimary"
    case rsSecondary = "RSSecondary"
    case rsArbiter = "RSArbiter"
    case rsOther = "RSOther"
    case rsGhost = "RSGhost"
    case loadBalancer = "LoadBalancer"

    /// Data-bearing types per the spec: Mongos, RSPrimary, RSSecondary, Standalone, LoadBalancer.
    public var isDataBearing: Bool {
        switch self {
        case .mongos, .rsPrimary, .rsSecondary, .standalone, .loadBalancer: true
        default: false
        }
    }
}

/// The topology types of the SDAM specification, with the spec's names as raw values.
public enum TopologyType: String, Sendable, Hashable, CaseIterable {
    case unknown = "Unknown"
    case single = "Single"
    case sharded = "Sharded"
    case replicaSetNoPrimary = "ReplicaSetNoPrimary"
    case replicaSetWithPrimary = "ReplicaSetWithPrimary"
    case loadBalanced = "LoadBalanced"
}
