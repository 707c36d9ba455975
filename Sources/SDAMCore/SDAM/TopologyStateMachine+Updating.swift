import MongoBSON

// MARK: - Updating the TopologyDescription (the spec's TopologyType table and its subroutines)

extension TopologyStateMachine {
    static let stalePrimaryError = "primary marked stale due to electionId/setVersion mismatch"
    static let replacedPrimaryError = "primary marked stale due to discovery of newer primary"

    /// Replaces the server's description, then takes the action the TopologyType table names
    /// for (current TopologyType, new ServerType).
    mutating func update(with server: ServerDescription, _ t: inout Transition) {
        replace(server, &t)
        let address = server.address
        switch description.type {
        case .single:
            verifySetNameForSingle(server, &t)
        case .loadBalanced:
            break
        case .unknown:
            switch server.type {
            case .standalone: updateUnknownWithStandalone(server, &t)
            case .mongos: description.type = .sharded
            case .rsPrimary:
                description.type = .replicaSetWithPrimary
                updateRSFromPrimary(server, &t)
            case .rsSecondary, .rsArbiter, .rsOther:
                description.type = .replicaSetNoPrimary
                updateRSWithoutPrimary(server, &t)
            case .unknown, .possiblePrimary, .rsGhost, .loadBalancer:
                break
            }
        case .sharded:
            switch server.type {
            case .unknown, .possiblePrimary, .mongos: break
            default: removeServer(address, &t)
            }
        case .replicaSetNoPrimary:
            switch server.type {
            case .unknown, .possiblePrimary, .rsGhost: break
            case .standalone, .mongos, .loadBalancer: removeServer(address, &t)
            case .rsPrimary:
                description.type = .replicaSetWithPrimary
                updateRSFromPrimary(server, &t)
            case .rsSecondary, .rsArbiter, .rsOther: updateRSWithoutPrimary(server, &t)
            }
        case .replicaSetWithPrimary:
            switch server.type {
            case .unknown, .possiblePrimary, .rsGhost: checkIfHasPrimary()
            case .standalone, .mongos, .loadBalancer:
                removeServer(address, &t)
                checkIfHasPrimary()
            case .rsPrimary: updateRSFromPrimary(server, &t)
            case .rsSecondary, .rsArbiter, .rsOther: updateRSWithPrimaryFromMember(server, &t)
            }
        }
    }

    /// "Verifying setName with TopologyType Single": with a `replicaSet` option, a reply
    /// without that set name makes the server Unknown.
    mutating func verifySetNameForSingle(_ server: ServerDescription, _ t: inout Transition) {
        guard let required = settings.replicaSet, server.type != .unknown, server.setName != required else { return }
        let found = server.setName.map { "\"\($0)\"" } ?? "no set name"
        var unknown = ServerDescription(address: server.address)
        unknown.error = "replica set name mismatch: expected \"\(required)\", server reports \(found)"
        unknown.lastUpdateTimeMS = server.lastUpdateTimeMS
        replace(unknown, &t)
    }

    mutating func updateUnknownWithStandalone(_ server: ServerDescription, _ t: inout Transition) {
        if Set(settings.seeds).count == 1 {
            description.type = .single
        } else {
            removeServer(server.address, &t)
        }
    }

    /// Learns the set name from the first member, or checks the server's against it.
    /// Returns false (the caller removes the server) on a mismatch.
    mutating func adoptOrMatchSetName(_ server: ServerDescription) -> Bool {
        if description.setName == nil { description.setName = server.setName }
        return description.setName == server.setName
    }

    mutating func updateRSWithoutPrimary(_ server: ServerDescription, _ t: inout Transition) {
        guard adoptOrMatchSetName(server) else {
            removeServer(server.address, &t)
            return
        }
        addMembers(of: server, &t)
        markPossiblePrimary(server.primary, &t)
        if let me = server.me, me != server.address {
            removeServer(server.address, &t)
        }
    }

    mutating func updateRSWithPrimaryFromMember(_ server: ServerDescription, _ t: inout Transition) {
        if description.setName != server.setName {
            removeServer(server.address, &t)
            checkIfHasPrimary()
            return
        }
        if let me = server.me, me != server.address {
            removeServer(server.address, &t)
            checkIfHasPrimary()
            return
        }
        if !description.hasPrimary {
            description.type = .replicaSetNoPrimary
            markPossiblePrimary(server.primary, &t)
        }
    }

    mutating func updateRSFromPrimary(_ server: ServerDescription, _ t: inout Transition) {
        guard adoptOrMatchSetName(server) else {
            removeServer(server.address, &t)
            checkIfHasPrimary()
            return
        }
        if let staleness = primaryStaleness(server) {
            var unknown = ServerDescription(address: server.address)
            unknown.error = "\(Self.stalePrimaryError) (\(staleness))"
            unknown.lastUpdateTimeMS = server.lastUpdateTimeMS
            replace(unknown, &t)
            checkIfHasPrimary()
            return
        }
        // Invalidate any other primary: the newest one wins.
        for other in description.servers.values where other.type == .rsPrimary && other.address != server.address {
            var unknown = ServerDescription(address: other.address)
            unknown.error = Self.replacedPrimaryError
            unknown.lastUpdateTimeMS = server.lastUpdateTimeMS
            replace(unknown, &t)
            t.actions.append(.requestImmediateCheck(other.address))
            // MongoDB 4.0 and older close every connection on stepdown.
            if other.maxWireVersion <= WireVersion.lastBefore42 {
                clearPool(other.address, serviceId: nil, &t)
            }
        }
        addMembers(of: server, &t)
        let members = server.hosts.union(server.passives).union(server.arbiters)
        let outsiders = description.servers.keys.filter { !members.contains($0) }.sorted()
        for address in outsiders { removeServer(address, &t) }
        checkIfHasPrimary()
    }

    /// The (electionId, setVersion) check of updateRSFromPrimary; updates maxElectionId and
    /// maxSetVersion when the primary is not stale. Returns why it is stale, or nil.
    mutating func primaryStaleness(_ server: ServerDescription) -> String? {
        if server.maxWireVersion >= WireVersion.electionIdFirst {
            // MongoDB 6.0+: electionId first, then setVersion; null is less than any value.
            let byElection = Self.compareNullsFirst(server.electionId, description.maxElectionId)
            if byElection < 0 { return "mismatched electionId" }
            if byElection == 0 && Self.compareNullsFirst(server.setVersion, description.maxSetVersion) < 0 {
                return "mismatched setVersion"
            }
            description.maxElectionId = server.electionId
            description.maxSetVersion = server.setVersion
            return nil
        }
        // Before 6.0: setVersion first, and only when both sides have both values.
        if let setVersion = server.setVersion, let electionId = server.electionId {
            if let maxSetVersion = description.maxSetVersion, let maxElectionId = description.maxElectionId {
                if maxSetVersion > setVersion { return "mismatched setVersion" }
                if maxSetVersion == setVersion && maxElectionId > electionId { return "mismatched electionId" }
            }
            description.maxElectionId = electionId
        }
        if let setVersion = server.setVersion, description.maxSetVersion.map({ setVersion > $0 }) ?? true {
            description.maxSetVersion = setVersion
        }
        return nil
    }

    static func compareNullsFirst<T: Comparable>(_ a: T?, _ b: T?) -> Int {
        switch (a, b) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case let (a?, b?): return a < b ? -1 : (a == b ? 0 : 1)
        }
    }

    /// Adds every host, passive and arbiter the server reports that the topology lacks.
    mutating func addMembers(of server: ServerDescription, _ t: inout Transition) {
        var missing: [ServerAddress] = []
        for list in [server.hosts, server.passives, server.arbiters] {
            for address in list where description.servers[address] == nil { missing.append(address) }
        }
        for address in Set(missing).sorted() { addServer(address, &t) }
    }

    /// A member's `primary` hint turns an Unknown server into a PossiblePrimary.
    mutating func markPossiblePrimary(_ address: ServerAddress?, _ t: inout Transition) {
        guard let address, var hinted = description.servers[address], hinted.type == .unknown else { return }
        hinted.type = .possiblePrimary
        replace(hinted, &t)
    }

    mutating func checkIfHasPrimary() {
        description.type = description.hasPrimary ? .replicaSetWithPrimary : .replicaSetNoPrimary
    }
}
