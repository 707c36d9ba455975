import MongoBSON

/// The read rules for topology types ReplicaSetWithPrimary and ReplicaSetNoPrimary: the mode
/// picks the candidates, maxStalenessSeconds then tag sets make them eligible.
struct ReplicaSetReadRules {
    var readPreference: ReadPreference
    var staleness: StalenessEstimator

    func suitable(among servers: [ServerDescription]) -> [ServerDescription] {
        switch readPreference.mode {
        case .primary:
            return primaries(servers)
        case .secondary:
            return eligible(servers.filter { $0.type == .rsSecondary })
        case .nearest:
            return eligible(servers.filter { $0.type == .rsSecondary || $0.type == .rsPrimary })
        case .secondaryPreferred:
            let secondaries = eligible(servers.filter { $0.type == .rsSecondary })
            return secondaries.isEmpty ? primaries(servers) : secondaries
        case .primaryPreferred:
            let primary = primaries(servers)
            return primary.isEmpty ? eligible(servers.filter { $0.type == .rsSecondary }) : primary
        }
    }

    /// The primary, if known. Tags and staleness never apply to it as a fallback.
    private func primaries(_ servers: [ServerDescription]) -> [ServerDescription] {
        servers.filter { $0.type == .rsPrimary }
    }

    /// Staleness first, then tag sets: a later tag set is a fallback for when the servers of an
    /// earlier one are too stale (the specification's "Why is maxStalenessSeconds applied
    /// before tag_sets?").
    func eligible(_ candidates: [ServerDescription]) -> [ServerDescription] {
        var fresh = candidates
        if let maxStaleness = MaxStaleness.limit(of: readPreference) {
            fresh = candidates.filter { staleness.isEligible($0, maxStalenessSeconds: maxStaleness) }
        }
        return TagSets.eligible(fresh, tagSets: readPreference.tagSets)
    }
}
