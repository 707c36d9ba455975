import Benchmark
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The pure SDAM core (issue 3): `TopologyStateMachine.apply` runs under the topology lock once
/// per heartbeat of every member, so its cost bounds how long selection waits for the lock.
func registerSDAMCoreBenchmarks() {
    for memberCount in [7, 50] {
        unchangedHeartbeatBenchmark("secondary heartbeat, nothing changes (\(memberCount) members)") {
            UnchangedHeartbeat.secondary(memberCount: memberCount)
        }

        Benchmark(
            "SDAM apply: new primary with a higher electionId (\(memberCount) members)",
            closure: { benchmark, state in
                var winner: ServerAddress?
                benchmark.recordingThreadCPUTime {
                    for _ in benchmark.scaledIterations {
                        let (address, primary) = state.nextPrimary()
                        blackHole(state.machine.apply(primary))
                        winner = address
                    }
                }
                precondition(winner.flatMap { state.machine.description.servers[$0]?.type } == .rsPrimary)
            },
            setup: { Elections(memberCount: memberCount) }
        )
    }

    // The steady state of a large sharded cluster: one mongos's routine heartbeat must cost the
    // same whatever the number of mongos (it once copied the whole server map: O(servers)).
    for mongosCount in [100, 1_000, 5_000] {
        unchangedHeartbeatBenchmark("mongos heartbeat, nothing changes (\(mongosCount) mongos)") {
            UnchangedHeartbeat.mongos(count: mongosCount)
        }
    }
}

/// Applies, over and over, a heartbeat that changes nothing.
private func unchangedHeartbeatBenchmark(_ name: String, setup: @escaping @Sendable () -> UnchangedHeartbeat) {
    Benchmark(
        "SDAM apply: \(name)",
        closure: { benchmark, state in
            let type = state.machine.description.type
            benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    blackHole(state.machine.apply(state.heartbeat))
                }
            }
            precondition(state.machine.description.type == type)
        },
        setup: setup
    )
}

/// A topology and a reply that repeats what it already knows (only the RTT and lastWriteDate
/// move, which Server Description Equality ignores): applying it publishes no events.
private final class UnchangedHeartbeat {
    var machine: TopologyStateMachine
    let heartbeat: ServerDescription

    init(machine: TopologyStateMachine, heartbeat: ServerDescription) {
        self.machine = machine
        self.heartbeat = heartbeat
        precondition(self.machine.apply(heartbeat).events.isEmpty, "the heartbeat should change nothing")
    }

    /// A steady replica set and a secondary's reply.
    static func secondary(memberCount: Int) -> UnchangedHeartbeat {
        let hosts = ReplicaSetFixtures.members(memberCount)
        let reply = ReplicaSetFixtures.helloReply(
            me: hosts[1], hosts: hosts, primary: hosts[0], lastWriteDateMS: ReplicaSetFixtures.nowMS - 50
        )
        return UnchangedHeartbeat(
            machine: ReplicaSetFixtures.steadyReplicaSet(memberCount: memberCount),
            heartbeat: ReplicaSetFixtures.description(of: reply, from: hosts[1], roundTripTimeMS: 2.7)
        )
    }

    /// A sharded topology where every mongos has replied, and one mongos's reply.
    static func mongos(count: Int) -> UnchangedHeartbeat {
        let addresses = (0..<count).map { ServerAddress(host: "mongos\($0).example.com") }
        var machine = TopologyStateMachine(settings: TopologySettings(seeds: addresses))
        _ = machine.open()
        let reply: BSONDocument = [
            "isWritablePrimary": .bool(true), "msg": .string("isdbgrid"), "maxWireVersion": .int32(21),
            "minWireVersion": .int32(0), "logicalSessionTimeoutMinutes": .int32(30), "ok": .double(1),
        ]
        for address in addresses { _ = machine.apply(ReplicaSetFixtures.description(of: reply, from: address)) }
        precondition(machine.description.type == .sharded, "fixture should be sharded")
        return UnchangedHeartbeat(
            machine: machine,
            heartbeat: ReplicaSetFixtures.description(of: reply, from: addresses[count / 2], roundTripTimeMS: 2.7)
        )
    }
}

/// Members 1 and 2 take turns winning elections, each with a higher electionId than the last:
/// every apply makes one member RSPrimary and demotes the other to Unknown (the spec's
/// "stale primary"), with ServerDescriptionChanged and TopologyDescriptionChanged events.
///
/// The two descriptions are built once; each turn only swaps in the next electionId (one
/// small allocation for its bytes, included in the figures).
private final class Elections {
    var machine: TopologyStateMachine
    private var candidates: [ServerDescription]
    private var term: UInt64 = 100

    init(memberCount: Int) {
        machine = ReplicaSetFixtures.steadyReplicaSet(memberCount: memberCount)
        let hosts = ReplicaSetFixtures.members(memberCount)
        candidates = [hosts[1], hosts[2]].map { address in
            let reply = ReplicaSetFixtures.helloReply(me: address, hosts: hosts, primary: address, term: 100)
            return ReplicaSetFixtures.description(of: reply, from: address)
        }
        // Warm into the alternating regime: the member about to win was demoted by the last turn.
        for _ in 0..<2 {
            let update = machine.apply(nextPrimary().1)
            // The new primary's change and the old one's demotion, then the topology's.
            precondition(update.events.count == 3, "an election should change two servers and the topology")
        }
    }

    /// The next winner's description, with the next term's electionId.
    func nextPrimary() -> (ServerAddress, ServerDescription) {
        term += 1
        var winner = candidates[Int(term % 2)]
        winner.electionId = ReplicaSetFixtures.electionId(term: term)
        return (winner.address, winner)
    }
}
