/// Where a topology's seeds stand.
public enum SeedlistStatus: Sendable, Equatable {
    /// Given in the connection string (`mongodb://`).
    case given
    /// A `mongodb+srv://` topology whose records have not been read yet; `lastFailure` is why
    /// the last lookup brought nothing (NXDOMAIN, a timeout, ...), nil before the first one
    /// ended. Selection waits, and names the failure when it times out.
    case awaitingDNS(lastFailure: SeedlistError?)
    /// DNS gave the seeds.
    case discovered
    /// The records were read and break the seedlist discovery spec's rules (a target outside
    /// the parent domain, two TXT records, a TXT option not allowed, srvMaxHosts with a TXT
    /// replicaSet, ...): operations fail at once with this error, until a later lookup finds
    /// valid records.
    case invalid(SeedlistError)

    /// The error an operation fails with at once, nil when it may wait.
    public var refusal: SeedlistError? {
        if case .invalid(let error) = self { return error }
        return nil
    }

    /// Why the seeds are still unknown, for a selection timeout's message.
    public var pendingFailure: SeedlistError? {
        if case .awaitingDNS(let failure) = self { return failure }
        return nil
    }

    /// What a selection that timed out says about the seeds: the last lookup's failure, or
    /// that the first lookup (of `srvName`) has not answered; nil once the seeds are known.
    public func timeoutNote(srvName: String?) -> String? {
        guard case .awaitingDNS(let failure) = self else { return nil }
        return failure?.description ?? "the SRV lookup of \(srvName ?? "the SRV name") has not answered yet"
    }
}

// MARK: - mongodb+srv: the seed list and its rescans

extension TopologyStateMachine {
    /// A `mongodb+srv://` topology's first usable answer: `resolved` (the settings completed
    /// with the seeds and the TXT options) replaces the settings, and the seeds join as at
    /// opening: ServerOpening each, their monitors start (or, load-balanced, the one seed is
    /// a LoadBalancer at once), then TopologyDescriptionChanged from the empty description.
    ///
    /// Ignored unless the topology still awaits its seeds and `resolved` has some.
    public mutating func seedlistDiscovered(_ resolved: TopologySettings) -> TopologyUpdate {
        guard settings.awaitsSeedlist, !resolved.seeds.isEmpty else { return TopologyUpdate() }
        let pending = description
        settings = resolved
        description = TopologyDescription(settings: resolved)
        for seed in resolved.seeds { poolGenerations[seed] = 0 }
        seedlist = .discovered
        var update = TopologyUpdate()
        announceSeeds(&update)
        refreshDerivedFields()
        update.events.append(.topologyDescriptionChanged(previous: pending, new: description))
        return update
    }

    /// A lookup of a topology still awaiting its seeds brought none: remembered for the
    /// selection timeout's message, or, for records that break the spec's rules, to fail
    /// operations at once.
    /// - Returns: whether the status changed (waiting selections must look again).
    @discardableResult
    public mutating func seedlistFailed(_ error: SeedlistError) -> Bool {
        guard settings.awaitsSeedlist else { return false }
        let status: SeedlistStatus = error.isInvalidResult ? .invalid(error) : .awaitingDNS(lastFailure: error)
        guard status != seedlist else { return false }
        seedlist = status
        return true
    }

    /// A rescan's verified hosts (polling spec): in a Sharded or Unknown topology whose seeds
    /// came from DNS, servers no longer listed are removed, servers still listed are left
    /// alone, and new ones are added as Unknown (within srvMaxHosts, chosen at random). An
    /// empty list changes nothing.
    /// - Returns: the transition and what it added and removed.
    public mutating func srvRescanned(
        validHosts: [ServerAddress], using generator: inout some RandomNumberGenerator
    ) -> (update: TopologyUpdate, changes: SRVHostChanges) {
        guard seedlist == .discovered, let srv = settings.srv, SRVPolling.rescans(description.type) else {
            return (TopologyUpdate(), SRVHostChanges())
        }
        let changes = SRVPolling.changes(
            current: Array(description.servers.keys), valid: validHosts, maxHosts: srv.maxHosts, using: &generator)
        guard !changes.isEmpty else { return (TopologyUpdate(), changes) }
        var transition = Transition(before: description)
        for address in changes.removed { removeServer(address, &transition) }
        for address in changes.added { addServer(address, &transition) }
        return (finish(transition), changes)
    }
}
