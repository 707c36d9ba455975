import Benchmark
import PoolMonitor

/// The pure SDAM core (issue 3): `TopologyStateMachine.apply` runs under the topology lock once
/// per heartbeat of every member, so its cost bounds how long selection waits for the lock.
func registerSDAMCoreBenchmarks() {
    for memberCount in [7, 50] {
        Benchmark(
            "SDAM apply: secondary heartbeat, nothing changes (\(memberCount) members)",
            closure: { benchmark, state in
                benchmark.recordingThreadCPUTime {
                    for _ in benchmark.scaledIterations {
                        blackHole(state.machine.apply(state.heartbeat))
                    }
                }
                precondition(state.machine.description.type == .replicaSetWithPrimary)
            },
            setup: { UnchangedHeartbeat(memberCount: memberCount) }
        )

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
}

/// A steady set and a secondary's reply that repeats what the set already knows (only its
/// RTT and lastWriteDate move, which Server Description Equality ignores): no events.
private final class UnchangedHeartbeat {
    var machine: TopologyStateMachine
    let heartbeat: ServerDescription

    init(memberCount: Int) {
        machine = ReplicaSetFixtures.steadyReplicaSet(memberCount: memberCount)
        let hosts = ReplicaSetFixtures.members(memberCount)
        let reply = ReplicaSetFixtures.helloReply(
            me: hosts[1], hosts: hosts, primary: hosts[0], lastWriteDateMS: ReplicaSetFixtures.nowMS - 50
        )
        heartbeat = ReplicaSetFixtures.description(of: reply, from: hosts[1], roundTripTimeMS: 2.7)
        precondition(machine.apply(heartbeat).events.isEmpty, "the heartbeat should change nothing")
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
