import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// A monitor check that an application error cancels while it is in flight has no result
/// (server-monitoring spec, "Drivers cancel in-progress monitor checks"): a reply the server
/// sent before it failed must not make it selectable again.
@Suite struct CheckCancellationTests {
    typealias F = SDAMFixtures
    let a = F.address("a")

    func topologyWithPrimary() -> Topology {
        let topology = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        topology.open()
        topology.apply(F.description("a", F.primary(hosts: ["a"])))
        return topology
    }

    func error(_ kind: ApplicationError.Kind) -> ApplicationError {
        ApplicationError(address: a, generation: 0, maxWireVersion: 21, phase: .afterHandshakeCompletes, kind: kind)
    }

    @Test func aReplyFromACheckCancelledInFlightIsNotApplied() {
        let topology = topologyWithPrimary()
        let atStart = topology.checkCancellations(for: a)
        topology.handle(error(.network))
        #expect(topology.description.servers[a]?.type == .unknown)
        #expect(topology.checkCancellations(for: a) == atStart + 1)

        // The in-flight check's reply, and its failure, both arrive after the error: dropped.
        #expect(topology.apply(F.description("a", F.primary(hosts: ["a"]), now: 3), cancellationsAtStart: atStart).isEmpty)
        #expect(topology.description.servers[a]?.type == .unknown)
        let failed = ServerDescription(address: a, error: "a: connection reset", now: 3)
        #expect(topology.apply(failed, checkFailed: true, cancellationsAtStart: atStart).isEmpty)
        #expect(topology.poolGeneration(for: a) == 1, "only the application error cleared the pool")

        // The next check starts after the error: its reply counts.
        let now = topology.checkCancellations(for: a)
        topology.apply(F.description("a", F.primary(hosts: ["a"]), now: 4), cancellationsAtStart: now)
        #expect(topology.description.servers[a]?.type == .rsPrimary)
    }

    @Test func aStateChangeErrorOnAModernServerLeavesTheCheckInFlight() {
        let topology = topologyWithPrimary()
        let atStart = topology.checkCancellations(for: a)
        // NotWritablePrimary from a 4.2+ server: Unknown and a check requested, no cancellation.
        topology.handle(error(.command(["ok": .int32(0), "code": .int32(10107), "errmsg": .string("not primary")])))
        #expect(topology.description.servers[a]?.type == .unknown)
        #expect(topology.checkCancellations(for: a) == atStart)
        topology.apply(F.description("a", F.primary(hosts: ["a"]), now: 3), cancellationsAtStart: atStart)
        #expect(topology.description.servers[a]?.type == .rsPrimary)
    }
}
