/// The polling-srv-records-for-mongos-discovery spec's rules, as values: when to rescan, and
/// what a rescan's answer changes in the topology.
public enum SRVPolling {
    /// The floor of rescanSRVIntervalMS, and the interval when the records carry no TTL.
    public static let minimumRescanInterval: Duration = .seconds(60)

    /// Whether a topology of this type is rescanned: only Sharded and Unknown ones (a replica
    /// set, a single server or a load balancer never is).
    public static func rescans(_ type: TopologyType) -> Bool {
        type == .sharded || type == .unknown
    }

    /// How long after a rescan (or the initial lookup) ended the next one starts: the lowest
    /// TTL of the answer's records, but not less than `floor` (60 s; the records' TTLs are not
    /// known: `floor`); `heartbeat` after a lookup that failed or found no valid host, until
    /// one finds some.
    public static func interval(foundValidHosts: Bool, lowestTTL: UInt32?, heartbeat: Duration, floor: Duration = minimumRescanInterval) -> Duration {
        guard foundValidHosts else { return heartbeat }
        guard let lowestTTL else { return floor }
        return max(floor, .seconds(Int64(lowestTTL)))
    }

    /// What a rescan changes: hosts no longer in the answer leave, hosts that stayed are left
    /// alone, and new ones join — all of them when `maxHosts` is 0 or at least the number of
    /// valid hosts, else randomly chosen ones (the initial discovery's Fisher-Yates shuffle)
    /// until the topology has `maxHosts`. An answer with no valid host changes nothing.
    ///
    /// - Parameters:
    ///   - current: the servers in the topology now.
    ///   - valid: the answer's verified hosts, in answer order.
    public static func changes(
        current: [ServerAddress], valid: [ServerAddress], maxHosts: Int, using generator: inout some RandomNumberGenerator
    ) -> SRVHostChanges {
        guard !valid.isEmpty else { return SRVHostChanges() }
        let validSet = Set(valid)
        let currentSet = Set(current)
        let removed = current.filter { !validSet.contains($0) }.sorted()
        let new = valid.filter { !currentSet.contains($0) }
        let added: [ServerAddress]
        if maxHosts == 0 || maxHosts >= valid.count {
            added = new
        } else {
            let room = max(0, maxHosts - (current.count - removed.count))
            added = Array(SRVSeedlist.fisherYatesShuffled(new, using: &generator).prefix(room))
        }
        return SRVHostChanges(added: added, removed: removed)
    }
}

/// The servers a rescan adds (as Unknown) and removes.
public struct SRVHostChanges: Sendable, Hashable {
    public var added: [ServerAddress]
    public var removed: [ServerAddress]

    public init(added: [ServerAddress] = [], removed: [ServerAddress] = []) {
        self.added = added
        self.removed = removed
    }

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty }
}
