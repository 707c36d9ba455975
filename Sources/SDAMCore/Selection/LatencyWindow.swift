import MongoBSON

/// The latency window of the server-selection specification: the suitable servers whose
/// average RTT is within localThresholdMS of the fastest one.
public enum LatencyWindow {

    /// The servers of `suitable` with `A ≤ RTT ≤ A + localThresholdMS`, where `A` is the
    /// shortest average RTT among them; order kept.
    ///
    /// A server with no RTT yet (a load balancer is never measured) has no evidence against it:
    /// it stays in the window and does not anchor it.
    public static func filter(_ suitable: [ServerDescription], localThresholdMS: Int) -> [ServerDescription] {
        guard let fastest = suitable.compactMap(\.roundTripTimeMS).min() else { return suitable }
        let limit = fastest + Double(max(0, localThresholdMS))
        return suitable.filter { server in
            guard let rtt = server.roundTripTimeMS else { return true }
            return rtt <= limit
        }
    }
}
