import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Application errors fed back into SDAM: State Change Error classification, staleness by
/// generation and topologyVersion, pool clearing, and connection backpressure.
@Suite struct ApplicationErrorTests {
    typealias F = SDAMFixtures

    @Test(arguments: [11600, 11602, 13436, 189, 91])
    func recoveringCodes(code: Int) {
        #expect(StateChangeError.classify(code: code, message: "") == .nodeIsRecovering)
    }

    @Test(arguments: [10107, 13435, 10058])
    func notWritablePrimaryCodes(code: Int) {
        #expect(StateChangeError.classify(code: code, message: "") == .notWritablePrimary)
    }

    @Test func codeWinsOverMessageAndMessagesCountOnlyWithoutCode() {
        #expect(StateChangeError.classify(code: 1, message: "not master") == nil)
        #expect(StateChangeError.classify(code: nil, message: "not master") == .notWritablePrimary)
        #expect(StateChangeError.classify(code: nil, message: "not master or secondary") == .nodeIsRecovering)
        #expect(StateChangeError.classify(code: nil, message: "node is recovering") == .nodeIsRecovering)
        #expect(StateChangeError.classify(code: nil, message: "other") == nil)
        #expect(StateChangeError.classify(code: 7, message: "") == nil, "HostNotFound from a mongos is not a state change")
    }

    @Test func writeConcernErrorCountsAndWriteErrorsDoNot() {
        let wce: BSONDocument = ["ok": .int32(1), "writeConcernError": .document(["code": .int32(91), "errmsg": .string("x")])]
        #expect(StateChangeError(reply: wce)?.isShutdown == true)
        let writeErrors: BSONDocument = ["ok": .int32(1), "writeErrors": .array([.document(["code": .int32(10107)])])]
        #expect(StateChangeError(reply: writeErrors) == nil)
    }

    func primaryMachine(maxWireVersion: Int32 = 21) -> TopologyStateMachine {
        var m = F.machine(["a"], replicaSet: "rs")
        _ = m.apply(F.description("a", F.primary(hosts: ["a"], maxWireVersion: maxWireVersion)))
        return m
    }

    func commandError(_ code: Int32, maxWireVersion: Int = 21, generation: Int? = nil,
                      counter: Int32? = nil) -> ApplicationError {
        var reply: BSONDocument = ["ok": .int32(0), "code": .int32(code), "errmsg": .string("boom")]
        if let counter {
            reply["topologyVersion"] = .document(["processId": .objectID(F.oid(1)), "counter": .int32(counter)])
        }
        return ApplicationError(address: F.address("a"), generation: generation, maxWireVersion: maxWireVersion,
                                phase: .afterHandshakeCompletes, kind: .command(reply))
    }

    @Test func notWritablePrimaryOnModernServerMarksUnknownAndRequestsCheckWithoutClearing() {
        var m = primaryMachine()
        let update = m.handle(commandError(10107), now: 5)
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
        #expect(m.description.type == .replicaSetNoPrimary)
        #expect(update.actions == [.requestImmediateCheck(F.address("a"))])
        #expect(m.poolGeneration(for: F.address("a")) == 0)
        #expect(update.events.map(\.specName) == ["server_description_changed_event", "topology_description_changed_event"])
    }

    @Test func shutdownOrPre42ClearsThePool() {
        var shutdown = primaryMachine()
        let update = shutdown.handle(commandError(91), now: 5)
        #expect(update.actions.contains(.clearPool(F.address("a"), serviceId: nil)))
        #expect(shutdown.poolGeneration(for: F.address("a")) == 1)
        var old = primaryMachine(maxWireVersion: 7)
        _ = old.handle(commandError(10107, maxWireVersion: 7), now: 5)
        #expect(old.poolGeneration(for: F.address("a")) == 1)
    }

    @Test func staleErrorsChangeNothing() {
        var m = primaryMachine()
        _ = m.handle(ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .afterHandshakeCompletes,
                                      kind: .network), now: 2)
        _ = m.apply(F.description("a", F.primary(hosts: ["a"])))
        #expect(m.poolGeneration(for: F.address("a")) == 1)
        #expect(m.handle(commandError(10107, generation: 0), now: 3).isEmpty)
        #expect(m.description.servers[F.address("a")]?.type == .rsPrimary)

        var tv = F.machine(["a"], replicaSet: "rs")
        var reply = F.primary(hosts: ["a"])
        reply["topologyVersion"] = .document(["processId": .objectID(F.oid(1)), "counter": .int32(2)])
        _ = tv.apply(F.description("a", reply))
        #expect(tv.handle(commandError(10107, counter: 2), now: 3).isEmpty, "an equal topologyVersion is stale")
        #expect(!tv.handle(commandError(10107, counter: 3), now: 3).isEmpty)
        #expect(tv.description.servers[F.address("a")]?.topologyVersion?.counter == 3)
    }

    @Test func networkErrorsAfterHandshakeMarkUnknownClearAndCancelTheCheck() {
        var m = primaryMachine()
        let update = m.handle(ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .afterHandshakeCompletes,
                                               kind: .network), now: 2)
        #expect(update.actions == [.clearPool(F.address("a"), serviceId: nil), .cancelCheck(F.address("a"))])
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
    }

    @Test func timeoutsAfterHandshakeAndBackpressureWhileConnectingChangeNothing() {
        var m = primaryMachine()
        let timeout = ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .afterHandshakeCompletes, kind: .timeout)
        #expect(m.handle(timeout, now: 2).isEmpty)
        #expect(timeout.backpressureLabels.isEmpty)
        for kind in [ApplicationError.Kind.network, .timeout] {
            let connecting = ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .beforeHandshakeCompletes, kind: kind)
            #expect(m.handle(connecting, now: 2).isEmpty)
            #expect(connecting.backpressureLabels == ["SystemOverloadedError", "RetryableError"])
        }
        #expect(m.description.servers[F.address("a")]?.type == .rsPrimary)
    }

    @Test func aConnectFailureThatIsNotBackpressureMarksUnknownAndClearsWithoutLabels() {
        var m = primaryMachine()
        var unresolved = ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .beforeHandshakeCompletes,
                                          kind: .network, detail: "cannot resolve host 'a'")
        unresolved.isNotBackpressure = true
        #expect(unresolved.backpressureLabels.isEmpty)
        let update = m.handle(unresolved, now: 2)
        #expect(update.actions == [.clearPool(F.address("a"), serviceId: nil), .cancelCheck(F.address("a"))])
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
        #expect(m.description.servers[F.address("a")]?.error?.contains("cannot resolve host 'a'") == true)
    }

    @Test func authenticationErrorMarksUnknownAndClears() {
        var m = primaryMachine()
        _ = m.handle(ApplicationError(address: F.address("a"), maxWireVersion: 21, phase: .beforeHandshakeCompletes,
                                      kind: .authentication("AuthenticationFailed")), now: 2)
        #expect(m.description.servers[F.address("a")]?.error?.contains("AuthenticationFailed") == true)
        #expect(m.poolGeneration(for: F.address("a")) == 1)
    }

    @Test func loadBalancedModeClearsByServiceIdAndKeepsTheLoadBalancer() {
        var m = F.machine(["lb"], loadBalanced: true)
        let service = F.oid(9)
        let update = m.handle(ApplicationError(address: F.address("lb"), maxWireVersion: 21, phase: .afterHandshakeCompletes,
                                               kind: .network, serviceId: service), now: 2)
        #expect(update.actions.contains(.clearPool(F.address("lb"), serviceId: service)))
        #expect(m.description.servers[F.address("lb")]?.type == .loadBalancer)
    }
}
