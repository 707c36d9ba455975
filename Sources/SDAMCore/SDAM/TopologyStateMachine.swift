import MongoBSON

/// The pure SDAM core: one topology's description and its servers' pool generations, changed
/// only by the inputs below, each returning the events to publish and the actions to carry out.
///
/// It does no I/O, reads no clock and starts no thread: the loop and the pool call it under
/// the topology lock and execute what it returns (see architecture.md, "the topology
/// description is a value"). Every public input is one transition.
public struct TopologyStateMachine: Sendable {
    /// The settings; a `mongodb+srv://` topology's are completed once DNS gave its seeds
    /// (`seedlistDiscovered`).
    public internal(set) var settings: TopologySettings
    public internal(set) var description: TopologyDescription
    /// Where the seeds stand: given, awaited from DNS, discovered, or refused.
    public internal(set) var seedlist: SeedlistStatus
    /// CMAP generation of each server's pool, bumped whenever SDAM clears it.
    var poolGenerations: [ServerAddress: Int] = [:]
    /// The servers' contributions to the derived fields, kept current by every transition.
    var tally: DerivedFieldTally

    /// The initial description from `settings`. Emits nothing: call `open()` for the opening
    /// events. A `mongodb+srv://` topology starts with no servers, awaiting its seed list.
    public init(settings: TopologySettings) {
        self.settings = settings
        self.description = TopologyDescription(settings: settings)
        seedlist = settings.awaitsSeedlist ? .awaitingDNS(lastFailure: nil) : .given
        tally = DerivedFieldTally(supported: settings.supportedWireVersions)
        for seed in settings.seeds { poolGenerations[seed] = 0 }
        refreshDerivedFields()
    }

    /// The pool generation of a server in the topology, nil for a server not in it.
    public func poolGeneration(for address: ServerAddress) -> Int? {
        description.servers[address] == nil ? nil : poolGenerations[address, default: 0]
    }

    // MARK: - Opening and closing

    /// The opening events: TopologyOpening, the first TopologyDescriptionChanged (from an
    /// empty Unknown description), and ServerOpening per seed; monitors start for each seed.
    /// In load-balanced mode there is no monitoring: the single server becomes a LoadBalancer
    /// at once, with its ServerDescriptionChanged and TopologyDescriptionChanged.
    public mutating func open() -> TopologyUpdate {
        var update = TopologyUpdate(events: [
            .topologyOpening,
            .topologyDescriptionChanged(previous: TopologyDescription(type: .unknown), new: description),
        ])
        let before = description
        announceSeeds(&update)
        if description.type == .loadBalanced {
            update.events.append(.topologyDescriptionChanged(previous: before, new: description))
        }
        return update
    }

    /// ServerOpening for each seed, then their monitors start; in load-balanced mode there is
    /// no monitoring: each seed becomes a LoadBalancer at once, with its
    /// ServerDescriptionChanged, and its pool is ready.
    mutating func announceSeeds(_ update: inout TopologyUpdate) {
        var seen = Set<ServerAddress>()
        let seeds = settings.seeds.filter { seen.insert($0).inserted }
        for seed in seeds { update.events.append(.serverOpening(seed)) }
        guard description.type == .loadBalanced else {
            update.actions += seeds.map(SDAMAction.startMonitoring)
            return
        }
        for seed in seeds {
            var lb = ServerDescription(address: seed)
            lb.type = .loadBalancer
            if let previous = description.servers.updateValue(lb, forKey: seed) {
                update.events.append(.serverDescriptionChanged(seed, previous: previous, new: lb))
            }
            update.actions.append(.markPoolReady(seed))
        }
        refreshDerivedFields()
    }

    /// The closing events: every server removed (ServerClosed each, monitors stopped), the
    /// type set to Unknown (TopologyDescriptionChanged), then TopologyClosed.
    public mutating func close() -> TopologyUpdate {
        let before = description
        var update = TopologyUpdate()
        for server in before.sortedServers {
            update.events.append(.serverClosed(server.address))
            if before.type != .loadBalanced { update.actions.append(.stopMonitoring(server.address)) }
        }
        description = TopologyDescription(type: .unknown)
        poolGenerations = [:]
        refreshDerivedFields()
        if before != description {
            update.events.append(.topologyDescriptionChanged(previous: before, new: description))
        }
        update.events.append(.topologyClosed)
        return update
    }

    // MARK: - Server checks

    /// Applies the outcome of a check (a description from a hello reply, or an Unknown one
    /// from a failed check), per "Updating the TopologyDescription".
    ///
    /// Ignored (empty update) when the server is no longer in the topology, or when the
    /// description's topologyVersion is older than the one held.
    public mutating func apply(_ server: ServerDescription) -> TopologyUpdate {
        guard let current = description.servers[server.address], current.isSuperseded(by: server) else {
            return TopologyUpdate()
        }
        var transition = Transition(before: description)
        update(with: server, &transition)
        if let now = description.servers[server.address], now.type != .unknown,
           now.type.isDataBearing || description.type == .single {
            transition.actions.append(.markPoolReady(server.address))
        }
        return finish(transition)
    }

    /// Applies the Unknown description of a failed monitor check (a network error, a timeout,
    /// or `ok: 0` to hello) and clears the server's pool in the same transition, as the
    /// server-monitoring spec's "Network or command error during server check" requires.
    public mutating func checkFailed(_ server: ServerDescription) -> TopologyUpdate {
        guard let current = description.servers[server.address], current.isSuperseded(by: server) else {
            return TopologyUpdate()
        }
        var transition = Transition(before: description)
        update(with: server, &transition)
        if description.servers[server.address] != nil, description.type != .loadBalanced {
            clearPool(server.address, serviceId: nil, &transition)
        }
        return finish(transition)
    }

    // MARK: - Internals shared by the transitions

    /// What one transition did, recorded as it happens so that events come out in the
    /// spec's order without diffing the whole topology.
    ///
    /// It keeps the topology-level fields from before and each touched server's first previous
    /// description, never the whole previous description: holding a second reference to the
    /// servers dictionary would make the first write copy all of it, so a routine heartbeat
    /// would cost O(servers) (measured: at 5,000 mongos, most of the loop's time went to that
    /// copy). The previous description is rebuilt only when TopologyDescriptionChanged needs it.
    struct Transition {
        /// The description's own fields before the transition, its servers emptied.
        let fieldsBefore: TopologyDescription
        /// Each server the transition touched, with its description before the first touch
        /// (nil for a server the transition added).
        var serversBefore: [ServerAddress: ServerDescription?] = [:]
        /// Servers whose description was replaced, in order, with the last description each
        /// had (kept for servers removed later in the same transition).
        var replaced: [(ServerAddress, ServerDescription)] = []
        var added: [ServerAddress] = []
        var removed: [ServerAddress] = []
        var actions: [SDAMAction] = []

        init(before description: TopologyDescription) {
            var fields = description
            fields.servers = [:]
            fieldsBefore = fields
        }

        /// Records a server's description before the transition first changes it.
        mutating func touch(_ address: ServerAddress, before: ServerDescription?) {
            if serversBefore.index(forKey: address) == nil { serversBefore[address] = .some(before) }
        }

        /// The description of a server the transition touched, before it did; nil when the
        /// transition added it.
        func serverBefore(_ address: ServerAddress) -> ServerDescription? {
            serversBefore[address] ?? nil
        }
    }

    /// The whole description as it was before `transition`: the current one with the touched
    /// servers put back (O(servers); only for TopologyDescriptionChanged).
    func description(before transition: Transition) -> TopologyDescription {
        var before = transition.fieldsBefore
        before.servers = description.servers
        for (address, server) in transition.serversBefore { before.servers[address] = server }
        return before
    }

    mutating func replace(_ server: ServerDescription, _ transition: inout Transition) {
        let previous = description.servers.updateValue(server, forKey: server.address)
        transition.touch(server.address, before: previous)
        transition.replaced.append((server.address, server))
    }

    mutating func addServer(_ address: ServerAddress, _ transition: inout Transition) {
        guard description.servers[address] == nil else { return }
        transition.touch(address, before: nil)
        description.servers[address] = ServerDescription(address: address)
        poolGenerations[address] = 0
        transition.added.append(address)
        transition.actions.append(.startMonitoring(address))
    }

    mutating func removeServer(_ address: ServerAddress, _ transition: inout Transition) {
        guard let previous = description.servers.removeValue(forKey: address) else { return }
        transition.touch(address, before: previous)
        poolGenerations[address] = nil
        if let i = transition.added.firstIndex(of: address) {
            transition.added.remove(at: i)
            transition.actions.removeAll { $0 == .startMonitoring(address) }
        } else {
            transition.removed.append(address)
            transition.actions.append(.stopMonitoring(address))
        }
    }

    /// Bumps a server's pool generation and asks for the pool to be cleared.
    mutating func clearPool(_ address: ServerAddress, serviceId: BSONObjectID?, _ transition: inout Transition) {
        if serviceId == nil { poolGenerations[address, default: 0] += 1 }
        transition.actions.append(.clearPool(address, serviceId: serviceId))
    }

    /// Recomputes the fields derived from all servers, then turns the transition into events
    /// in the spec's order: ServerDescriptionChanged (first the server the input was about),
    /// ServerOpening, ServerClosed, then TopologyDescriptionChanged when anything changed.
    mutating func finish(_ transition: Transition) -> TopologyUpdate {
        updateDerivedFields(transition)
        var update = TopologyUpdate(actions: transition.actions)
        var reported = Set<ServerAddress>()
        var changed = false
        // The last replacement of each server is what it became.
        var latest: [ServerAddress: ServerDescription] = [:]
        for (address, server) in transition.replaced { latest[address] = server }
        for (address, _) in transition.replaced where reported.insert(address).inserted {
            guard let previous = transition.serverBefore(address), let new = latest[address] else { continue }
            if previous != new {
                update.events.append(.serverDescriptionChanged(address, previous: previous, new: new))
                changed = true
            }
        }
        for address in transition.added { update.events.append(.serverOpening(address)) }
        for address in transition.removed { update.events.append(.serverClosed(address)) }
        let before = transition.fieldsBefore
        changed = changed || !transition.added.isEmpty || !transition.removed.isEmpty
            || before.type != description.type || before.setName != description.setName
            || before.maxSetVersion != description.maxSetVersion || before.maxElectionId != description.maxElectionId
            || before.compatibilityError != description.compatibilityError
            || before.logicalSessionTimeoutMinutes != description.logicalSessionTimeoutMinutes
        if changed {
            update.events.append(.topologyDescriptionChanged(previous: description(before: transition), new: description))
        }
        return update
    }

    /// Updates the derived fields for the servers `transition` touched: their previous
    /// descriptions taken out of the tally, their current ones put in. O(servers touched).
    mutating func updateDerivedFields(_ transition: Transition) {
        for (address, before) in transition.serversBefore {
            if let before { tally.count(before, sign: -1) }
            if let now = description.servers[address] { tally.count(now, sign: 1) }
        }
        applyTally()
    }

    /// Recounts every server ("Checking wire protocol compatibility" and "Logical Session
    /// Timeout" from scratch): for descriptions made without a transition.
    mutating func refreshDerivedFields() {
        tally = DerivedFieldTally(supported: settings.supportedWireVersions)
        for server in description.servers.values { tally.count(server, sign: 1) }
        applyTally()
    }

    private mutating func applyTally() {
        description.compatibilityError = tally.firstIncompatible
            .flatMap { description.servers[$0] }
            .map { Self.compatibilityError($0, tally.supported) }
        description.logicalSessionTimeoutMinutes = tally.logicalSessionTimeoutMinutes
    }

    static func compatibilityError(_ server: ServerDescription, _ supported: ClosedRange<Int>) -> String {
        if server.minWireVersion > supported.upperBound {
            return "Server at \(server.address) requires wire version \(server.minWireVersion), but this version of "
                + "\(DriverIdentity.name) only supports up to \(supported.upperBound)."
        }
        return "Server at \(server.address) reports wire version \(server.maxWireVersion), but this version of "
            + "\(DriverIdentity.name) requires at least \(supported.lowerBound) (MongoDB "
            + "\(WireVersion.mongoDBVersion(forWireVersion: supported.lowerBound)))."
    }
}
