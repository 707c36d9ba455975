import MongoBSON

/// The max-staleness rules: the validation of maxStalenessSeconds and the staleness estimate
/// of a secondary (max-staleness specification, "Client").
public enum MaxStaleness {
    /// How often an idle primary writes a no-op to the oplog: a constant 10 seconds.
    public static let idleWritePeriodMS = 10_000
    /// The least maxStalenessSeconds any client accepts: a constant 90 seconds.
    public static let smallestMaxStalenessSeconds = 90

    /// The smallest valid maxStalenessSeconds for a replica set monitored every
    /// `heartbeatFrequencyMS`: the larger of 90 and `ceil((heartbeat + idleWritePeriod) / 1000)`,
    /// which is the whole-second form of `maxStalenessSeconds * 1000 >= heartbeatFrequencyMS +
    /// idleWritePeriodMS`.
    public static func minimumSeconds(heartbeatFrequencyMS: Int) -> Int {
        let heartbeat = max(0, heartbeatFrequencyMS)
        // Split before adding so that a huge heartbeat cannot overflow.
        let seconds = heartbeat / 1000 + idleWritePeriodMS / 1000 + (heartbeat % 1000 > 0 ? 1 : 0)
        return max(smallestMaxStalenessSeconds, seconds)
    }

    /// The maxStalenessSeconds of a read preference when it sets a maximum: nil for none and
    /// for the URI's -1 ("no maximum").
    static func limit(of readPreference: ReadPreference) -> Int? {
        guard let seconds = readPreference.maxStalenessSeconds, seconds != -1 else { return nil }
        return seconds
    }
}

/// Estimates each secondary's staleness in one topology, per the max-staleness specification.
///
/// Built once per selection (it finds the primary, or the freshest secondary, in one pass) so
/// that filtering many secondaries stays linear.
public struct StalenessEstimator: Sendable {
    private let heartbeatFrequencyMS: Double
    /// `P.lastUpdateTime - P.lastWriteDate` when the topology has a primary with a lastWriteDate.
    private let primaryLag: Double?
    /// `SMax.lastWriteDate`: the greatest lastWriteDate of any secondary (no-primary formula).
    private let freshestSecondaryWrite: Double?

    public init(topology: TopologyDescription, heartbeatFrequencyMS: Int) {
        self.heartbeatFrequencyMS = Double(heartbeatFrequencyMS)
        var primaryLag: Double?
        var freshest: Double?
        for server in topology.servers.values {
            guard let write = server.lastWriteDateMS else { continue }
            switch server.type {
            case .rsPrimary where topology.type == .replicaSetWithPrimary:
                primaryLag = Double(server.lastUpdateTimeMS) - Double(write)
            case .rsSecondary:
                freshest = max(freshest ?? Double(write), Double(write))
            default:
                break
            }
        }
        self.primaryLag = primaryLag
        self.freshestSecondaryWrite = freshest
    }

    /// The estimated staleness of `server` in milliseconds: 0 for anything but a secondary;
    /// nil for a secondary that reported no lastWriteDate (its staleness cannot be known, so
    /// it is never eligible under a maximum).
    ///
    /// With a primary: `(S.lastUpdateTime - S.lastWriteDate) - (P.lastUpdateTime -
    /// P.lastWriteDate) + heartbeatFrequencyMS`; without one: `SMax.lastWriteDate -
    /// S.lastWriteDate + heartbeatFrequencyMS`. Computed in Double (exact to 2^53 ms), so
    /// hostile dates cannot overflow.
    public func stalenessMS(of server: ServerDescription) -> Double? {
        guard server.type == .rsSecondary else { return 0 }
        guard let write = server.lastWriteDateMS.map(Double.init) else { return nil }
        if let primaryLag {
            return (Double(server.lastUpdateTimeMS) - write) - primaryLag + heartbeatFrequencyMS
        }
        return (freshestSecondaryWrite ?? write) - write + heartbeatFrequencyMS
    }

    /// Whether `server` is fresh enough: staleness at most `maxStalenessSeconds`.
    public func isEligible(_ server: ServerDescription, maxStalenessSeconds: Int) -> Bool {
        guard let staleness = stalenessMS(of: server) else { return false }
        return staleness <= Double(maxStalenessSeconds) * 1000
    }
}
