import FuzzSupport
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The input is a hello reply as BSON. It becomes a `ServerDescription` for one seed and is
/// applied to a replica set topology (replicaSet "rs", three seeds) and to an Unknown one, as
/// the reply of one server and then of another.
///
/// Invariants (SDAM's "Updating the TopologyDescription"): every server is stored under its
/// own address; at most one RSPrimary; ReplicaSetWithPrimary exactly when a primary is known;
/// replica set members carry the topology's setName; the required setName never changes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let hello = BSONInvariants.check(fuzzInput(data, size)) else { return 0 }
    let a = ServerAddress(host: "a", port: 27017)
    let b = ServerAddress(host: "b", port: 27017)
    let c = ServerAddress(host: "c", port: 27017)

    let description = ServerDescription(address: a, hello: hello, roundTripTimeMS: 12.5, now: 1_000)
    precondition(description.address == a, "the description names another server")
    precondition(description.lastUpdateTimeMS == 1_000, "lastUpdateTimeMS is not the check's time")
    if description.type == .unknown {
        precondition(description.roundTripTimeMS == nil, "an Unknown description carries an RTT")
    }

    for settings in [
        TopologySettings(seeds: [a, b, c], replicaSet: "rs"),
        TopologySettings(seeds: [a, b]),
    ] {
        var machine = TopologyStateMachine(settings: settings)
        _ = machine.open()
        _ = machine.apply(description)
        checkTopology(machine)
        _ = machine.apply(ServerDescription(address: b, hello: hello, roundTripTimeMS: 3, now: 2_000))
        checkTopology(machine)
        _ = machine.apply(ServerDescription(address: a, error: "connection reset", now: 3_000))
        checkTopology(machine)
        _ = machine.close()
    }
    return 0
}

func checkTopology(_ machine: TopologyStateMachine) {
    let topology = machine.description
    for (address, server) in topology.servers {
        precondition(server.address == address, "server \(server.address) stored under \(address)")
    }
    let primaries = topology.servers.values.filter { $0.type == .rsPrimary }.count
    precondition(primaries <= 1, "\(primaries) primaries in one topology")
    switch topology.type {
    case .replicaSetWithPrimary:
        precondition(primaries == 1, "ReplicaSetWithPrimary without a primary")
    case .replicaSetNoPrimary:
        precondition(primaries == 0, "ReplicaSetNoPrimary with a primary")
    default:
        break
    }
    if topology.type == .replicaSetWithPrimary || topology.type == .replicaSetNoPrimary {
        if let required = machine.settings.replicaSet {
            precondition(topology.setName == required, "setName \(String(describing: topology.setName)) differs from the required \(required)")
        }
        for server in topology.servers.values where [.rsPrimary, .rsSecondary, .rsArbiter, .rsOther].contains(server.type) {
            precondition(server.setName == topology.setName, "member \(server.address) of set \(String(describing: server.setName)) in \(String(describing: topology.setName))")
        }
    }
}

/// The executable's entry point (see `runFuzzer`).
@_cdecl("FuzzHello_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzz)
}
