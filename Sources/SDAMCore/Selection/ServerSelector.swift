import MongoBSON

/// Server selection as pure functions over a `TopologyDescription`, per the server-selection
/// and max-staleness specifications.
///
/// A value holding the client-level settings selection needs. It reads no clock and keeps no
/// state: the caller (the pool) takes a topology snapshot, calls `select`, and when nothing is
/// suitable waits for the next topology change and calls again.
public struct ServerSelector: Sendable {
    /// The width of the latency window in milliseconds (the URI's `localThresholdMS`).
    public var localThresholdMS: Int
    /// The monitors' heartbeatFrequencyMS, which bounds maxStalenessSeconds and enters the
    /// staleness estimate.
    public var heartbeatFrequencyMS: Int


    public init(
        localThresholdMS: Int = Int(SDAMDefaults.localThreshold.inMilliseconds),
        heartbeatFrequencyMS: Int = Int(SDAMDefaults.heartbeatFrequency.inMilliseconds)
    ) {
        self.localThresholdMS = localThresholdMS
        self.heartbeatFrequencyMS = heartbeatFrequencyMS
    }

    /// The servers suitable for `operation`, and those of them inside the latency window.
    public struct Result: Sendable {
        /// Suitable servers, sorted by address.
        public var suitable: [ServerDescription]
        /// The suitable servers within localThresholdMS of the fastest, sorted by address.
        public var inLatencyWindow: [ServerDescription]
    }

    /// Finds the suitable servers and the latency window (steps 2 to 5 of the specification's
    /// multi-threaded algorithm, without the application-provided selector).
    ///
    /// Deprioritized servers (those a retried operation already failed on) are left out first;
    /// only if nothing else is suitable is the search run again with them.
    ///
    /// - Parameters:
    ///   - operation: a read with its read preference, or a write.
    ///   - topology: the snapshot to select from.
    ///   - deprioritized: addresses to use only when nothing else is suitable.
    /// - Returns: empty lists when nothing is suitable now (wait for a topology change).
    /// - Throws: `ServerSelectionError.incompatibleTopology` or `.invalidReadPreference`:
    ///   errors no topology change can cure.
    public func suitableServers(
        for operation: ServerSelectionOperation,
        in topology: TopologyDescription,
        deprioritized: Set<ServerAddress> = []
    ) throws(ServerSelectionError) -> Result {
        if let compatibilityError = topology.compatibilityError {
            throw .incompatibleTopology(compatibilityError)
        }
        if case .read(let readPreference) = operation {
            try validate(readPreference, in: topology)
        }
        // Filter first, sort what is left: the result's order is stable (by address) so that
        // a seeded choice is repeatable, but sorting every member on each selection is waste.
        let all = Array(topology.servers.values)
        let staleness = StalenessEstimator(topology: topology, heartbeatFrequencyMS: heartbeatFrequencyMS)
        var suitable: [ServerDescription] = []
        if !deprioritized.isEmpty {
            let preferred = all.filter { !deprioritized.contains($0.address) }
            suitable = suitableServers(for: operation, type: topology.type, among: preferred, staleness: staleness)
        }
        if suitable.isEmpty {
            suitable = suitableServers(for: operation, type: topology.type, among: all, staleness: staleness)
        }
        suitable.sort { $0.address < $1.address }
        return Result(suitable: suitable, inLatencyWindow: LatencyWindow.filter(suitable, localThresholdMS: localThresholdMS))
    }

    /// Selects one server: finds the latency window, then of two servers drawn at random from
    /// it takes the one with fewer operations in flight.
    ///
    /// - Parameters:
    ///   - operationCount: each server's `operationCount` (operations selected for it and not
    ///     yet finished). The caller increments the chosen server's count.
    ///   - generator: the source of randomness (seeded in tests).
    /// - Returns: nil when nothing is suitable now.
    /// - Throws: as `suitableServers(for:in:deprioritized:)`.
    public func select<Generator: RandomNumberGenerator>(
        for operation: ServerSelectionOperation,
        in topology: TopologyDescription,
        deprioritized: Set<ServerAddress> = [],
        operationCount: (ServerAddress) -> Int = { _ in 0 },
        using generator: inout Generator
    ) throws(ServerSelectionError) -> ServerDescription? {
        let window = try suitableServers(for: operation, in: topology, deprioritized: deprioritized).inLatencyWindow
        return OperationCountChoice.choose(from: window, operationCount: operationCount, using: &generator)
    }

    // MARK: - Validation

    /// Raises the errors the specifications require before any server is looked at: max
    /// staleness or tags with mode primary; in a replica set, maxStalenessSeconds below the
    /// minimum; max staleness with a server too old to support it.
    public func validate(_ readPreference: ReadPreference, in topology: TopologyDescription) throws(ServerSelectionError) {
        let maxStaleness = MaxStaleness.limit(of: readPreference)
        if readPreference.mode == .primary {
            if maxStaleness != nil {
                throw .invalidReadPreference(readPreference, .maxStalenessWithPrimaryMode)
            }
            if readPreference.tagSets.contains(where: { !$0.isEmpty }) {
                throw .invalidReadPreference(readPreference, .tagSetsWithPrimaryMode)
            }
        }
        guard let maxStaleness else { return }
        if topology.type == .replicaSetWithPrimary || topology.type == .replicaSetNoPrimary {
            let minimum = MaxStaleness.minimumSeconds(heartbeatFrequencyMS: heartbeatFrequencyMS)
            if maxStaleness < minimum {
                throw .invalidReadPreference(
                    readPreference,
                    .maxStalenessTooSmall(minimumSeconds: minimum, heartbeatFrequencyMS: heartbeatFrequencyMS)
                )
            }
        }
        let tooOld = topology.servers.values
            .filter { $0.isAvailable && $0.maxWireVersion < 5 }
            .min { $0.address < $1.address }
        if let tooOld {
            throw .invalidReadPreference(
                readPreference,
                .maxStalenessNotSupported(server: tooOld.address, maxWireVersion: tooOld.maxWireVersion)
            )
        }
    }

    // MARK: - Suitability by topology type

    /// The suitable servers among `servers` (in any order, possibly without the deprioritized
    /// ones).
    func suitableServers(
        for operation: ServerSelectionOperation,
        type: TopologyType,
        among servers: [ServerDescription],
        staleness: StalenessEstimator
    ) -> [ServerDescription] {
        switch type {
        case .unknown:
            return []
        case .single:
            // A direct connection: read preference is ignored, the one server takes anything.
            return servers.filter(\.isAvailable)
        case .sharded:
            return servers.filter { $0.type == .mongos }
        case .loadBalanced:
            return servers.filter { $0.type == .loadBalancer }
        case .replicaSetWithPrimary, .replicaSetNoPrimary:
            switch operation {
            case .write:
                return servers.filter { $0.type == .rsPrimary }
            case .read(let readPreference):
                return ReplicaSetReadRules(readPreference: readPreference, staleness: staleness)
                    .suitable(among: servers)
            }
        }
    }
}

extension ServerDescription {
    /// Available per the server-selection specification: any type but Unknown and
    /// PossiblePrimary.
    public var isAvailable: Bool {
        type != .unknown && type != .possiblePrimary
    }
}
