import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The servers' addresses and counters, published by the loop after every change so that any
/// thread can read them without a round trip to the loop.
final class SimulatorDirectory: Sendable {
    private let entries = ConditionLock<[(address: String, counters: ServerCounters)]>([])

    func update(_ servers: [(String, ServerCounters)]) {
        entries.withLock { $0 = servers.map { (address: $0.0, counters: $0.1) } }
    }

    var addresses: [String] {
        entries.withLock { $0.map(\.address) }
    }

    func statistics(for address: String) -> ServerStatistics? {
        entries.withLock { entries in entries.first { $0.address == address }?.counters.snapshot }
    }
}
