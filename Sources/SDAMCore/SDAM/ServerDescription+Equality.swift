import MongoBSON

// MARK: - Server Description Equality

extension ServerDescription: Equatable {
    /// The spec's "Server Description Equality": only the fields marked (=) count, so a new
    /// RTT or lastUpdateTime alone is not a change and publishes no event. PossiblePrimary
    /// counts as Unknown: for a multi-threaded client the spec makes them synonymous, and the
    /// hint is not news about the server itself.
    public static func == (lhs: ServerDescription, rhs: ServerDescription) -> Bool {
        lhs.address == rhs.address
            && lhs.type.comparableType == rhs.type.comparableType
            && lhs.error == rhs.error
            && lhs.minWireVersion == rhs.minWireVersion
            && lhs.maxWireVersion == rhs.maxWireVersion
            && lhs.me == rhs.me
            && lhs.setName == rhs.setName
            && lhs.setVersion == rhs.setVersion
            && lhs.electionId == rhs.electionId
            && lhs.primary == rhs.primary
            && lhs.logicalSessionTimeoutMinutes == rhs.logicalSessionTimeoutMinutes
            && lhs.topologyVersion == rhs.topologyVersion
            && lhs.isCryptd == rhs.isCryptd
            && lhs.tags == rhs.tags
            && lhs.hosts == rhs.hosts
            && lhs.passives == rhs.passives
            && lhs.arbiters == rhs.arbiters
    }

    /// Whether this description is one the client may replace with `incoming`: the spec's
    /// `isStaleServerDescription` negated. A reply whose topologyVersion is older than the one
    /// held (same process, smaller counter) is stale and must be ignored.
    public func isSuperseded(by incoming: ServerDescription) -> Bool {
        TopologyVersion.compare(topologyVersion, incoming.topologyVersion) != .orderedDescending
    }
}

extension ServerType {
    /// The type as equality sees it (PossiblePrimary is Unknown).
    var comparableType: ServerType { self == .possiblePrimary ? .unknown : self }
}
