import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Each server's `operationCount` (server-selection spec, "operationCount"): operations selected
/// for it and not yet finished, shared by every client of a pool, for the "power of two random
/// choices" within the latency window.
///
/// Its own mutex, not the topology's: changing a count must not wake threads waiting in server
/// selection, as the specification requires.
final class OperationCounts: Sendable {
    private let counts = ConditionLock<[ServerAddress: Int]>([:])

    /// All counts at once, so one selection sees a consistent set.
    var all: [ServerAddress: Int] { counts.withLock { $0 } }

    func increment(_ address: ServerAddress) {
        counts.withLock { $0[address, default: 0] += 1 }
    }

    func decrement(_ address: ServerAddress) {
        counts.withLock { counts in
            let next = counts[address, default: 0] - 1
            counts[address] = next > 0 ? next : nil
        }
    }
}
