import MongoBSON

/// Explaining an empty selection ("Server Selection Errors" and "Verbose errors" in the
/// server-selection specification): the error a caller raises when its selection timeout
/// expires says which read preference was asked for and why no server would do.
extension ServerSelector {
    /// The `noSuitableServer` error for `operation` against `topology`, with the reason.
    public func noSuitableServerError(
        for operation: ServerSelectionOperation,
        in topology: TopologyDescription
    ) -> ServerSelectionError {
        .noSuitableServer(operation: operation, reason: whyNothingIsSuitable(for: operation, in: topology))
    }

    /// Why nothing in `topology` is suitable for `operation`, in a sentence.
    func whyNothingIsSuitable(for operation: ServerSelectionOperation, in topology: TopologyDescription) -> String {
        let servers = topology.servers.values.sorted { $0.address < $1.address }
        let available = servers.filter(\.isAvailable)
        let context = "topology type \(topology.type.rawValue)"
        if topology.type == .unknown {
            return "\(context): the deployment has not been discovered yet (\(typeSummary(servers)))"
        }
        if available.isEmpty {
            return "\(context): \(unavailableSummary(servers))"
        }
        switch topology.type {
        case .sharded:
            return "\(context): no mongos is available (\(typeSummary(available)))"
        case .loadBalanced:
            return "\(context): no load balancer is available (\(typeSummary(available)))"
        case .unknown, .single:
            return "\(context): no server is available"
        case .replicaSetWithPrimary, .replicaSetNoPrimary:
            guard case .read(let readPreference) = operation else {
                return "\(context): the replica set has no primary for writes (\(typeSummary(available)))"
            }
            return "\(context): " + whyNoReplicaSetMember(readPreference, topology: topology, available: available)
        }
    }

    private func whyNoReplicaSetMember(
        _ readPreference: ReadPreference,
        topology: TopologyDescription,
        available: [ServerDescription]
    ) -> String {
        let noPrimary = "the replica set has no primary"
        let candidates: [ServerDescription]
        let kind: String
        switch readPreference.mode {
        case .primary:
            return "\(noPrimary) (\(typeSummary(available)))"
        case .nearest:
            candidates = available.filter { $0.type == .rsSecondary || $0.type == .rsPrimary }
            kind = "primary or secondary"
        case .secondary, .secondaryPreferred, .primaryPreferred:
            candidates = available.filter { $0.type == .rsSecondary }
            kind = "secondary"
        }
        let fallback = readPreference.mode == .secondary || readPreference.mode == .nearest ? "" : " and \(noPrimary)"
        guard !candidates.isEmpty else {
            return "no \(kind) is available (\(typeSummary(available)))\(fallback)"
        }
        var fresh = candidates
        if let maxStaleness = MaxStaleness.limit(of: readPreference) {
            let estimator = StalenessEstimator(topology: topology, heartbeatFrequencyMS: heartbeatFrequencyMS)
            fresh = candidates.filter { estimator.isEligible($0, maxStalenessSeconds: maxStaleness) }
            if fresh.isEmpty {
                let estimates = candidates.map { server in
                    let seconds = estimator.stalenessMS(of: server).map { "\(Int(($0 / 1000).rounded(.up))) s" } ?? "unknown"
                    return "\(server.address) \(seconds)"
                }
                return "no \(kind) is within maxStalenessSeconds \(maxStaleness) (estimated staleness: "
                    + estimates.joined(separator: ", ") + ")\(fallback)"
            }
        }
        return "no \(kind) of \(fresh.count) matches the tag sets (member tags: "
            + fresh.map { "\($0.address) \(tagsText($0.tags))" }.joined(separator: ", ") + ")\(fallback)"
    }

    /// "a:27017 Unknown: connection refused, b:27017 Unknown (not checked yet)"; "no servers
    /// are known" for an empty topology.
    private func unavailableSummary(_ servers: [ServerDescription]) -> String {
        guard !servers.isEmpty else { return "no servers are known" }
        let errors = Set(servers.compactMap(\.error))
        if errors.count == 1, let error = errors.first, servers.allSatisfy({ $0.error != nil }) {
            return "no server is available: \(error)"
        }
        return "no server is available: " + servers.map { server in
            "\(server.address) \(server.type.rawValue)" + (server.error.map { ": \($0)" } ?? " (not checked yet)")
        }.joined(separator: ", ")
    }

    /// "a:27017 RSArbiter, b:27017 RSGhost".
    private func typeSummary(_ servers: [ServerDescription]) -> String {
        guard !servers.isEmpty else { return "no servers are known" }
        return "servers: " + servers.map { "\($0.address) \($0.type.rawValue)" }.joined(separator: ", ")
    }

    private func tagsText(_ tags: [String: String]) -> String {
        "{" + tags.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }
}
