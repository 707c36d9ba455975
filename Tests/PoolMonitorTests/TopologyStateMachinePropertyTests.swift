import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Seeded property-style test: thousands of random hello replies, failed checks and
/// application errors applied to random topologies, checking after every step the invariants
/// the spec guarantees and the consistency of events and actions with the new description.
@Suite struct TopologyStateMachinePropertyTests {
    typealias F = SDAMFixtures

    static let names = ["h0:27017", "h1:27017", "h2:27017", "h3:27017", "h4:27017", "h5:27017"]

    static func randomSettings(_ rng: inout SplitMix64) -> TopologySettings {
        let count = Int.random(in: 1...3, using: &rng)
        let seeds = Array(names.shuffled(using: &rng).prefix(count)).map(F.address)
        let replicaSet = Bool.random(using: &rng) ? "rs" : nil
        let direct: Bool? = count == 1 && Int.random(in: 0..<4, using: &rng) == 0 ? true : nil
        return TopologySettings(seeds: seeds, replicaSet: replicaSet, directConnection: direct)
    }

    static func randomReply(_ rng: inout SplitMix64) -> BSONDocument {
        var fields: [(String, BSON)] = []
        let setName = ["rs", "rs", "rs", "other"].randomElement(using: &rng)!
        let hostList = names.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
        switch Int.random(in: 0..<9, using: &rng) {
        case 0: fields = [("isWritablePrimary", .bool(true))]
        case 1: fields = [("isWritablePrimary", .bool(true)), ("msg", .string("isdbgrid"))]
        case 2, 3: fields = [("isWritablePrimary", .bool(true)), ("setName", .string(setName))]
        case 4, 5: fields = [("secondary", .bool(true)), ("setName", .string(setName))]
        case 6: fields = [("arbiterOnly", .bool(true)), ("setName", .string(setName))]
        case 7: fields = [("isreplicaset", .bool(true))]
        default: fields = [("setName", .string(setName)), ("hidden", .bool(true))]
        }
        fields.append(("hosts", F.hosts(hostList)))
        if Bool.random(using: &rng) { fields.append(("electionId", .objectID(F.oid(UInt8.random(in: 1...3, using: &rng))))) }
        if Bool.random(using: &rng) { fields.append(("setVersion", .int32(Int32.random(in: 1...3, using: &rng)))) }
        if Int.random(in: 0..<4, using: &rng) == 0 { fields.append(("me", .string(names.randomElement(using: &rng)!))) }
        if Int.random(in: 0..<3, using: &rng) == 0 { fields.append(("primary", .string(names.randomElement(using: &rng)!))) }
        if Bool.random(using: &rng) {
            fields.append(("topologyVersion", .document([
                "processId": .objectID(F.oid(UInt8.random(in: 1...2, using: &rng))),
                "counter": .int64(Int64.random(in: 0...3, using: &rng)),
            ])))
        }
        if Bool.random(using: &rng) { fields.append(("logicalSessionTimeoutMinutes", .int32(Int32.random(in: 5...30, using: &rng)))) }
        // Wire version 6 is below the supported range: the compatibility error comes and goes.
        return F.hello(fields, maxWireVersion: [6, 9, 16, 17, 21].randomElement(using: &rng)!)
    }

    static func randomError(_ address: ServerAddress, _ rng: inout SplitMix64) -> ApplicationError {
        let kinds: [ApplicationError.Kind] = [
            .network, .timeout, .authentication("x"),
            .command(["ok": .int32(0), "code": .int32([10107, 91, 189, 2].randomElement(using: &rng)!)]),
        ]
        return ApplicationError(
            address: address,
            generation: Bool.random(using: &rng) ? Int.random(in: 0...2, using: &rng) : nil,
            maxWireVersion: [7, 9, 21].randomElement(using: &rng)!,
            phase: Bool.random(using: &rng) ? .beforeHandshakeCompletes : .afterHandshakeCompletes,
            kind: kinds.randomElement(using: &rng)!
        )
    }

    @Test(arguments: [UInt64(1), 2, 3, 42, 2024])
    func invariantsHoldUnderRandomInputs(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for _ in 0..<40 {
            let settings = Self.randomSettings(&rng)
            var machine = TopologyStateMachine(settings: settings)
            _ = machine.open()
            var everReported = Set(settings.seeds)
            var generations: [ServerAddress: Int] = [:]
            for step in 0..<100 {
                let before = machine.description
                let address = F.address(Self.names.randomElement(using: &rng)!)
                let update: TopologyUpdate
                switch Int.random(in: 0..<10, using: &rng) {
                case 0:
                    update = machine.apply(ServerDescription(address: address, error: "down", now: Int64(step)))
                case 1:
                    update = machine.handle(Self.randomError(address, &rng), now: Int64(step))
                default:
                    let server = ServerDescription(address: address, hello: Self.randomReply(&rng), roundTripTimeMS: 1, now: Int64(step))
                    if server.type != .rsGhost {
                        everReported.formUnion(server.hosts.union(server.passives).union(server.arbiters))
                    }
                    update = machine.apply(server)
                }
                check(machine, before: before, update: update, settings: settings, reported: everReported,
                      generations: &generations)
            }
        }
    }

    func check(_ machine: TopologyStateMachine, before: TopologyDescription, update: TopologyUpdate,
               settings: TopologySettings, reported: Set<ServerAddress>, generations: inout [ServerAddress: Int]) {
        let td = machine.description
        let primaries = td.servers.values.filter { $0.type == .rsPrimary }
        switch td.type {
        case .replicaSetWithPrimary:
            #expect(primaries.count == 1)
        case .replicaSetNoPrimary:
            #expect(primaries.isEmpty)
        case .sharded:
            // An RSGhost met while the type was still Unknown stays until its next check.
            #expect(td.servers.values.allSatisfy { [.unknown, .mongos, .rsGhost].contains($0.type) })
        case .single:
            #expect(td.servers.count == 1)
        case .unknown:
            #expect(primaries.isEmpty)
            #expect(td.servers.values.allSatisfy { [.unknown, .rsGhost, .possiblePrimary].contains($0.type) })
        case .loadBalanced:
            Issue.record("no random settings are load-balanced")
        }
        if td.type == .replicaSetWithPrimary || td.type == .replicaSetNoPrimary {
            for member in td.servers.values where [.rsPrimary, .rsSecondary, .rsArbiter, .rsOther].contains(member.type) {
                #expect(member.setName == td.setName)
            }
            if let required = settings.replicaSet { #expect(td.setName == required) }
        }
        #expect(Set(td.servers.keys).isSubset(of: reported), "a server came from nowhere")

        // The derived fields, kept incrementally, equal a recount over every server.
        var recounted = machine
        recounted.refreshDerivedFields()
        #expect(recounted.description.compatibilityError == td.compatibilityError)
        #expect(recounted.description.logicalSessionTimeoutMinutes == td.logicalSessionTimeoutMinutes)

        // Events and actions agree with the change.
        let added = Set(td.servers.keys).subtracting(before.servers.keys)
        let removed = Set(before.servers.keys).subtracting(td.servers.keys)
        #expect(Set(update.events.compactMap { if case .serverOpening(let a) = $0 { a } else { nil } }) == added)
        #expect(Set(update.events.compactMap { if case .serverClosed(let a) = $0 { a } else { nil } }) == removed)
        #expect(Set(update.actions.compactMap { if case .startMonitoring(let a) = $0 { a } else { nil } }) == added)
        #expect(Set(update.actions.compactMap { if case .stopMonitoring(let a) = $0 { a } else { nil } }) == removed)
        let topologyEvents = update.events.compactMap { event -> (TopologyDescription, TopologyDescription)? in
            if case let .topologyDescriptionChanged(p, n) = event { (p, n) } else { nil }
        }
        if before == td {
            #expect(topologyEvents.isEmpty, "an event without a change")
        } else {
            #expect(topologyEvents.count == 1)
            #expect(topologyEvents.last?.0 == before && topologyEvents.last?.1 == td)
            #expect(update.events.last?.specName == "topology_description_changed_event")
        }
        for event in update.events {
            if case let .serverDescriptionChanged(_, p, n) = event { #expect(p != n) }
        }
        // Pool generations never go down while a server stays.
        for address in td.servers.keys {
            let now = machine.poolGeneration(for: address) ?? -1
            #expect(now >= generations[address, default: 0])
            generations[address] = now
        }
        for address in removed { generations[address] = nil }
    }
}
