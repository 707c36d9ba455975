/// What the topology's derived fields ("Checking wire protocol compatibility" and "Logical
/// Session Timeout") are computed from, counted per server and kept up to date as servers
/// change, so that a transition updates them in O(servers it touched) instead of walking every
/// server.
///
/// Why: during discovery every first reply changes a server's type, which may change both
/// fields; walking (and copying) all N descriptions for each of N replies made discovering
/// 5,000 mongos quadratic — the walk was the monitor thread's largest cost after the map
/// copies.
struct DerivedFieldTally: Sendable {
    /// logicalSessionTimeoutMinutes of the data-bearing servers that report one, counted: one
    /// entry per distinct value (in practice one). An array, not a `[Int64: Int]`: the first
    /// dictionary keyed by a type makes the Swift runtime scan every protocol conformance in
    /// the process for that key's Hashable (about 0.1 ms, paid in the first apply of a
    /// process's first discovery, issue 17).
    private var timeouts: [TimeoutCount] = []

    private struct TimeoutCount: Sendable {
        var minutes: Int64
        var servers: Int
    }
    /// Data-bearing servers that report no logicalSessionTimeoutMinutes (sessions are then off).
    private var dataBearingWithoutTimeout = 0
    /// Servers whose wire versions do not overlap the driver's.
    private var incompatible: Set<ServerAddress> = []
    let supported: ClosedRange<Int>

    init(supported: ClosedRange<Int>) {
        self.supported = supported
    }

    /// Adds (`sign` 1) or takes away (`sign` -1) one server's contribution.
    mutating func count(_ server: ServerDescription, sign: Int) {
        switch server.type {
        case .unknown, .possiblePrimary, .loadBalancer:
            break
        default:
            if server.minWireVersion > supported.upperBound || server.maxWireVersion < supported.lowerBound {
                if sign > 0 { incompatible.insert(server.address) } else { incompatible.remove(server.address) }
            }
        }
        guard server.type.isDataBearing else { return }
        if let minutes = server.logicalSessionTimeoutMinutes {
            if let i = timeouts.firstIndex(where: { $0.minutes == minutes }) {
                timeouts[i].servers += sign
                if timeouts[i].servers <= 0 { timeouts.remove(at: i) }
            } else if sign > 0 {
                timeouts.append(TimeoutCount(minutes: minutes, servers: sign))
            }
        } else {
            dataBearingWithoutTimeout += sign
        }
    }

    /// The smallest timeout when every data-bearing server reports one; nil otherwise (also
    /// when there is no data-bearing server).
    var logicalSessionTimeoutMinutes: Int64? {
        dataBearingWithoutTimeout == 0 ? timeouts.lazy.map(\.minutes).min() : nil
    }

    /// The incompatible server with the lowest address (the one the error names).
    var firstIncompatible: ServerAddress? { incompatible.min() }
}
