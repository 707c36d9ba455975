import Foundation
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import TestSupport

/// Helpers for the end-to-end story: a simulated deployment, a monitor over it, and bounded
/// waits on the topology.
enum Deployment {
    static func address(_ text: String) -> ServerAddress { ServerAddress(text)! }

    static func replicaSet(members: Int = 3, name: String = "rs0", electionDelayMS: Int = 0, thread: String = "e2e-sim") throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: name, members: members), electionDelayMS: electionDelayMS, threadName: thread))
    }

    /// Waits until `condition` holds for the topology, at most `seconds`; the snapshot that
    /// satisfied it, or nil on timeout. With `requestChecks`, asks for immediate checks every
    /// 100 ms while it waits, as a client waiting in server selection does.
    static func waitFor(
        _ topology: Topology, seconds: Double = 10, requestChecks: Bool = false,
        _ condition: (TopologyDescription) -> Bool
    ) -> TopologyDescription? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var snapshot = topology.snapshot
        while true {
            if condition(snapshot.description) { return snapshot.description }
            if requestChecks { topology.requestImmediateCheck() }
            let step = requestChecks ? min(deadline, MonotonicClock.nanoseconds() + 100_000_000) : deadline
            let next: Topology.Snapshot?
            do {
                next = try topology.waitForChange(after: snapshot.version, until: step)
            } catch {
                return nil  // closed
            }
            if let next {
                snapshot = next
            } else if MonotonicClock.nanoseconds() >= deadline {
                return nil
            }
        }
    }

    /// Every member answered as a primary or secondary, and there is a primary.
    static func settled(_ t: TopologyDescription) -> Bool {
        primary(of: t) != nil && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
    }

    static func primary(of description: TopologyDescription) -> ServerAddress? {
        description.servers.values.first { $0.type == .rsPrimary }?.address
    }

    static func elapsedMS(since start: UInt64) -> Double {
        Double(MonotonicClock.nanoseconds() - start) / 1e6
    }
}
