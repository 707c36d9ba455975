import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Transitions of the TopologyStateMachine, the events they publish (order, and only on real
/// change) and the actions they ask for.
@Suite struct TopologyStateMachineTests {
    typealias F = SDAMFixtures

    @Test func openingEventsComeInSpecOrder() {
        var m = TopologyStateMachine(settings: TopologySettings(seeds: [F.address("a"), F.address("b")]))
        let update = m.open()
        #expect(update.events.map(\.specName) == [
            "topology_opening_event", "topology_description_changed_event", "server_opening_event", "server_opening_event",
        ])
        #expect(update.events[2] == .serverOpening(F.address("a")))
        #expect(update.actions == [.startMonitoring(F.address("a")), .startMonitoring(F.address("b"))])
    }

    @Test func loadBalancedOpensWithALoadBalancerAndNoMonitor() {
        var m = TopologyStateMachine(settings: TopologySettings(seeds: [F.address("lb")], loadBalanced: true))
        let update = m.open()
        #expect(update.events.map(\.specName).suffix(2) == ["server_description_changed_event", "topology_description_changed_event"])
        #expect(m.description.servers[F.address("lb")]?.type == .loadBalancer)
        #expect(m.description.isCompatible)
        #expect(!update.actions.contains(.startMonitoring(F.address("lb"))))
    }

    @Test func primaryDiscoveryAddsAndRemovesServers() {
        var m = F.machine(["seed"])
        let update = m.apply(F.description("seed", F.primary(hosts: ["seed", "b", "c"])))
        #expect(m.description.type == .replicaSetWithPrimary)
        #expect(m.description.setName == "rs")
        #expect(Set(m.description.servers.keys) == [F.address("seed"), F.address("b"), F.address("c")])
        #expect(update.events.map(\.specName) == [
            "server_description_changed_event", "server_opening_event", "server_opening_event", "topology_description_changed_event",
        ])
        #expect(update.actions.contains(.startMonitoring(F.address("b"))))

        // A primary whose host list no longer holds "c" removes it.
        let second = m.apply(F.description("seed", F.primary(hosts: ["seed", "b"])))
        #expect(m.description.servers[F.address("c")] == nil)
        #expect(second.events.contains(.serverClosed(F.address("c"))))
        #expect(second.actions.contains(.stopMonitoring(F.address("c"))))
        #expect(m.poolGeneration(for: F.address("c")) == nil)
    }

    @Test func equalReplyPublishesNothingButStillReplacesTheDescription() {
        var m = F.machine(["a"], directConnection: true)
        _ = m.apply(F.description("a", F.hello([("isWritablePrimary", .bool(true))]), now: 1))
        let again = m.apply(F.description("a", F.hello([("isWritablePrimary", .bool(true))]), now: 2))
        #expect(again.events.isEmpty)
        #expect(again.actions == [.markPoolReady(F.address("a"))])
        #expect(m.description.servers[F.address("a")]?.lastUpdateTimeMS == 2)
    }

    @Test func newerPrimaryInvalidatesTheOldOneAndRequestsACheck() {
        var m = F.machine(["a", "b"], replicaSet: "rs")
        _ = m.apply(F.description("a", F.primary(hosts: ["a", "b"], electionId: 1, setVersion: 1)))
        let update = m.apply(F.description("b", F.primary(hosts: ["a", "b"], electionId: 2, setVersion: 1)))
        let a = m.description.servers[F.address("a")]
        #expect(a?.type == .unknown)
        #expect(a?.error?.contains("primary marked stale due to discovery of newer primary") == true)
        #expect(update.actions.contains(.requestImmediateCheck(F.address("a"))))
        #expect(!update.actions.contains(.clearPool(F.address("a"), serviceId: nil)), "4.2+ primaries keep their pool")
        #expect(update.events.filter { $0.specName == "server_description_changed_event" }.count == 2)
        #expect(m.description.maxElectionId == F.oid(2))
    }

    @Test func stalePrimaryIsMarkedUnknown() {
        var m = F.machine(["a", "b"], replicaSet: "rs")
        _ = m.apply(F.description("b", F.primary(hosts: ["a", "b"], electionId: 2, setVersion: 1)))
        _ = m.apply(F.description("a", F.primary(hosts: ["a", "b"], electionId: 1, setVersion: 5)))
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
        #expect(m.description.servers[F.address("b")]?.type == .rsPrimary)
        #expect(m.description.maxSetVersion == 1)
    }

    @Test func preSixPointZeroOrdersBySetVersionFirst() {
        var m = F.machine(["a", "b"], replicaSet: "rs")
        _ = m.apply(F.description("b", F.primary(hosts: ["a", "b"], electionId: 2, setVersion: 1, maxWireVersion: 16)))
        _ = m.apply(F.description("a", F.primary(hosts: ["a", "b"], electionId: 1, setVersion: 2, maxWireVersion: 16)))
        #expect(m.description.servers[F.address("a")]?.type == .rsPrimary)
        #expect(m.description.servers[F.address("b")]?.type == .unknown)
        #expect(m.description.maxSetVersion == 2 && m.description.maxElectionId == F.oid(1))
    }

    @Test func staleTopologyVersionIsIgnored() {
        var m = F.machine(["a"], directConnection: true)
        let tv = { (c: Int32) -> (String, BSON) in
            ("topologyVersion", .document(["processId": .objectID(F.oid(1)), "counter": .int32(c)]))
        }
        _ = m.apply(F.description("a", F.hello([("isWritablePrimary", .bool(true)), tv(5)])))
        let stale = m.apply(F.description("a", F.hello([("isWritablePrimary", .bool(false)), ("secondary", .bool(true)),
                                                        ("setName", .string("rs")), tv(4)])))
        #expect(stale.isEmpty)
        #expect(m.description.servers[F.address("a")]?.type == .standalone)
    }

    @Test func replyFromARemovedServerIsIgnored() {
        var m = F.machine(["a", "b"], replicaSet: "rs")
        _ = m.apply(F.description("a", F.primary(hosts: ["a"])))
        #expect(m.apply(F.description("b", F.secondary(hosts: ["a", "b"]))).isEmpty)
        #expect(m.description.servers[F.address("b")] == nil)
    }

    @Test func memberWithMismatchedMeIsRemovedAfterAddingItsHosts() {
        var m = F.machine(["a"], replicaSet: "rs")
        var reply = F.secondary(hosts: ["b", "c"], primary: "b")
        reply["me"] = .string("c")
        _ = m.apply(F.description("a", reply))
        #expect(Set(m.description.servers.keys) == [F.address("b"), F.address("c")])
        #expect(m.description.servers[F.address("b")]?.type == .possiblePrimary)
    }

    @Test func wrongSetNameIsRemoved() {
        var m = F.machine(["a", "b"], replicaSet: "rs")
        _ = m.apply(F.description("a", F.secondary("other", hosts: ["a", "b"])))
        #expect(m.description.servers[F.address("a")] == nil)
        #expect(m.description.type == .replicaSetNoPrimary)
    }

    @Test func standaloneAmongSeveralSeedsIsRemovedButASingleSeedBecomesSingle() {
        var several = F.machine(["a", "b"])
        _ = several.apply(F.description("a", F.hello([("isWritablePrimary", .bool(true))])))
        #expect(several.description.type == .unknown && several.description.servers.count == 1)
        var one = F.machine(["a"])
        _ = one.apply(F.description("a", F.hello([("isWritablePrimary", .bool(true))])))
        #expect(one.description.type == .single)
    }

    @Test func shardedKeepsOnlyMongoses() {
        var m = F.machine(["a", "b"])
        _ = m.apply(F.description("a", F.hello([("msg", .string("isdbgrid"))])))
        #expect(m.description.type == .sharded)
        _ = m.apply(F.description("b", F.secondary(hosts: ["b"])))
        #expect(Set(m.description.servers.keys) == [F.address("a")])
    }

    @Test func singleWithWrongSetNameIsUnknown() {
        var m = F.machine(["a"], replicaSet: "rs", directConnection: true)
        _ = m.apply(F.description("a", F.secondary("other", hosts: ["a"])))
        #expect(m.description.type == .single)
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
    }

    @Test func compatibilityAndSessionTimeoutAreDerivedFromAllServers() {
        var m = F.machine(["a", "b"])
        var a = F.hello([("msg", .string("isdbgrid")), ("logicalSessionTimeoutMinutes", .int32(30))])
        _ = m.apply(F.description("a", a))
        #expect(m.description.logicalSessionTimeoutMinutes == 30)
        a["logicalSessionTimeoutMinutes"] = .int32(10)
        _ = m.apply(F.description("b", a))
        #expect(m.description.logicalSessionTimeoutMinutes == 10)
        _ = m.apply(F.description("b", F.hello([("msg", .string("isdbgrid"))])))
        #expect(m.description.logicalSessionTimeoutMinutes == nil)
        _ = m.apply(F.description("b", F.hello([("msg", .string("isdbgrid")), ("minWireVersion", .int32(99))], maxWireVersion: 100)))
        #expect(m.description.compatibilityError?.contains("requires wire version 99") == true)
        _ = m.apply(F.description("b", F.hello([("msg", .string("isdbgrid"))], maxWireVersion: 2)))
        #expect(m.description.compatibilityError?.contains("requires at least 8 (MongoDB 4.2)") == true)
    }

    /// The transition keeps only what it touched, and rebuilds the previous description for
    /// TopologyDescriptionChanged: it must be the whole description as it was, field for field.
    @Test func topologyChangedCarriesTheWholePreviousDescription() {
        var m = F.machine(["seed"], replicaSet: "rs")
        _ = m.apply(F.description("seed", F.primary(hosts: ["seed", "b", "c"]), now: 1))
        _ = m.apply(F.description("b", F.secondary(hosts: ["seed", "b", "c"]), now: 2))
        let before = m.description
        // The primary drops "c" and adds "d"; only its own description and the host list change.
        let update = m.apply(F.description("seed", F.primary(hosts: ["seed", "b", "d"], electionId: 7), now: 3))
        guard case .topologyDescriptionChanged(let previous, let new)? = update.events.last else {
            Issue.record("expected TopologyDescriptionChanged last, got \(update.events.map(\.specName))")
            return
        }
        #expect(previous == before)
        #expect(Set(previous.servers.keys) == [F.address("seed"), F.address("b"), F.address("c")])
        #expect(previous.servers[F.address("seed")]?.lastUpdateTimeMS == 1)
        #expect(previous.servers[F.address("b")]?.lastUpdateTimeMS == 2)
        #expect(previous.maxElectionId == nil)
        #expect(new == m.description)
        #expect(new.maxElectionId == F.oid(7))
        #expect(Set(new.servers.keys) == [F.address("seed"), F.address("b"), F.address("d")])
    }

    /// The derived fields are recomputed only when a touched server could change them; a
    /// removal must still clear what the removed server caused.
    @Test func removingTheIncompatibleServerClearsTheCompatibilityError() {
        var m = F.machine(["seed"], replicaSet: "rs")
        _ = m.apply(F.description("seed", F.primary(hosts: ["seed", "old"])))
        var oldReply = F.secondary(hosts: ["seed", "old"])
        oldReply["maxWireVersion"] = .int32(2)
        _ = m.apply(F.description("old", oldReply))
        #expect(m.description.compatibilityError?.contains("old") == true)
        // An unchanged heartbeat of the compatible primary keeps the error (nothing recomputed).
        _ = m.apply(F.description("seed", F.primary(hosts: ["seed", "old"]), now: 2))
        #expect(m.description.compatibilityError?.contains("old") == true)
        _ = m.apply(F.description("seed", F.primary(hosts: ["seed"]), now: 3))
        #expect(m.description.servers[F.address("old")] == nil)
        #expect(m.description.isCompatible)
    }

    @Test func closingRemovesEveryServerThenClosesTheTopology() {
        var m = F.machine(["a", "b"])
        let update = m.close()
        #expect(update.events == [
            .serverClosed(F.address("a")), .serverClosed(F.address("b")),
            .topologyDescriptionChanged(previous: F.machine(["a", "b"]).description, new: TopologyDescription(type: .unknown)),
            .topologyClosed,
        ])
        #expect(m.description.servers.isEmpty)
    }

    @Test func fiftyMemberSetAppliesRepliesWithoutRediscovery() {
        let names = (0..<50).map { "h\($0)" }
        var m = F.machine([names[0]], replicaSet: "rs")
        _ = m.apply(F.description(names[0], F.primary(hosts: names)))
        #expect(m.description.servers.count == 50)
        for round in 0..<20 {
            for name in names.dropFirst() {
                let update = m.apply(F.description(name, F.secondary(hosts: names), now: Int64(round + 2)))
                #expect(round == 0 || update.events.isEmpty)
            }
        }
        #expect(m.description.servers.values.filter { $0.type == .rsSecondary }.count == 49)
    }
}
