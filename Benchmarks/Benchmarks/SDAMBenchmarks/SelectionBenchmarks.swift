import Benchmark
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Server selection (issue 3): every operation selects a server from a topology snapshot, so
/// this is on every operation's path, outside any lock.
func registerSelectionBenchmarks() {
    let nearestWithTags = ReadPreference(
        mode: .nearest,
        tagSets: [["dc": "ny", "rack": "2"], ["dc": "ny"], [:]]
    )
    let cases: [(name: String, readPreference: ReadPreference)] = [
        ("nearest, tag sets [{dc: ny, rack: 2}, {dc: ny}, {}]", nearestWithTags),
        ("secondaryPreferred, maxStalenessSeconds 120", ReadPreference(mode: .secondaryPreferred, maxStalenessSeconds: 120)),
        ("primary", .primary),
    ]
    for (name, readPreference) in cases {
        Benchmark(
            "Select: \(name) (50 members)",
            closure: { (benchmark: Benchmark, state: SelectionState) throws in
                try benchmark.recordingThreadCPUTime {
                    for _ in benchmark.scaledIterations {
                        blackHole(try state.selector.select(
                            for: .read(readPreference), in: state.topology, using: &state.generator
                        ))
                    }
                }
            },
            setup: { () throws -> SelectionState in
                let state = SelectionState()
                // The fixture must leave something to select, or we would time the empty path.
                let selected = try state.selector.select(for: .read(readPreference), in: state.topology, using: &state.generator)
                precondition(selected != nil, "nothing to select for \(readPreference)")
                return state
            }
        )
    }
}

/// A 50-member ReplicaSetWithPrimary spread over three data centres and five racks, with RTTs
/// from 1 to 60 ms and secondaries trailing the primary by 0 to 196 seconds (4 s per member),
/// so each read preference has real filtering to do.
private final class SelectionState {
    let topology: TopologyDescription
    let selector = ServerSelector()
    var generator = SplitMix64(seed: 42)

    init() {
        let dataCentres = ["ny", "sf", "lon"]
        topology = ReplicaSetFixtures.steadyReplicaSet(
            memberCount: 50,
            tags: { ["dc": dataCentres[$0 % 3], "rack": String($0 % 5 + 1)] },
            roundTripTimeMS: { 1 + Double(($0 * 37) % 50) * 1.2 },
            lagMS: { Int64($0) * 4_000 }
        ).description
    }
}
