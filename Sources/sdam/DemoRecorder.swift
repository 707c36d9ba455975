import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Keeps what the demo needs of the pool's monitoring events, with the time each happened
/// (MonotonicClock nanoseconds): every topology description the pool went through, and when
/// each server's checks started.
///
/// The story asks it afterwards "when did X first hold?", so the timeline shows when things
/// happened in the monitor, not when the story's thread got round to looking.
final class DemoRecorder: Sendable {
    private struct State {
        var descriptions: [(ns: UInt64, description: TopologyDescription)] = []
        /// Polling checks only: an awaited (streaming) heartbeat is not a check of its own.
        var checks: [(ns: UInt64, server: ServerAddress)] = []
    }

    private let state = ConditionLock(State())

    /// The handler to register with `EventPublisher.addTimedHandler`.
    func record(_ event: MonitoringEvent, at ns: UInt64) {
        switch event {
        case .sdam(.topologyDescriptionChanged(_, let new)):
            state.withLock { $0.descriptions.append((ns, new)) }
        case .serverHeartbeatStarted(let server, let awaited) where !awaited:
            state.withLock { $0.checks.append((ns, server)) }
        default:
            break
        }
    }

    /// When the topology first satisfied `condition` at or after `after`; nil if it never did.
    func firstTime(after: UInt64 = 0, _ condition: (TopologyDescription) -> Bool) -> UInt64? {
        state.withLock { s in s.descriptions.first { $0.ns >= after && condition($0.description) }?.ns }
    }

    /// Each server's intervals (ms) between successive check starts, for the checks that
    /// started in `[from, to)`: the first one's interval runs from the check before the window.
    func intervals(from: UInt64, to: UInt64) -> [ServerAddress: [Double]] {
        state.withLock { s in
            var last: [ServerAddress: UInt64] = [:]
            var result: [ServerAddress: [Double]] = [:]
            for check in s.checks where check.ns < to {
                if check.ns >= from, let previous = last[check.server] {
                    result[check.server, default: []].append(Double(check.ns &- previous) / 1e6)
                }
                last[check.server] = check.ns
            }
            return result
        }
    }

    /// The start times of each server's checks in `[from, to)`.
    func checks(from: UInt64, to: UInt64) -> [ServerAddress: [UInt64]] {
        state.withLock { s in
            var result: [ServerAddress: [UInt64]] = [:]
            for check in s.checks where check.ns >= from && check.ns < to {
                result[check.server, default: []].append(check.ns)
            }
            return result
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); nil when empty.
func demoMedian(_ values: [Double]) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
