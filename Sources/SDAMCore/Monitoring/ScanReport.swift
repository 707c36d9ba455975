/// What one scan of a single-threaded client did: why it ran, how long it took, and each
/// server it checked (with what the check found), in the order their checks ended.
public struct ScanReport: Sendable, Equatable {
    /// Why the scan ran (server-monitoring spec, "Scanning"; server-selection spec,
    /// "Single-threaded server selection").
    public enum Reason: String, Sendable, Equatable {
        /// The client's first operation: it had never scanned.
        case initial
        /// heartbeatFrequencyMS passed since the previous scan ended.
        case heartbeat
        /// The topology was marked stale (a failed selection, or an error that says so).
        case stale
    }

    /// One server's check in the scan.
    public struct Check: Sendable, Equatable {
        public var address: ServerAddress
        /// The server's type once its check ended.
        public var type: ServerType
        /// From the scan's start to the end of this server's check.
        public var durationMS: Double
        /// The server's error once its check ended (a failed check's).
        public var error: String?
        /// The server joined the topology during this scan.
        public var joined: Bool

        public init(address: ServerAddress, type: ServerType, durationMS: Double, error: String?, joined: Bool) {
            self.address = address
            self.type = type
            self.durationMS = durationMS
            self.error = error
            self.joined = joined
        }
    }

    public var reason: Reason
    /// The scan's number in this client's life, from 1.
    public var number: Int
    /// When it started (MonotonicClock nanoseconds).
    public var startedNS: UInt64
    public var durationMS: Double
    public var checks: [Check]
    /// Servers the scan did not check: a check of theirs failed with a network error less than
    /// cooldownMS (5 s) before.
    public var coolingDown: [ServerAddress]
    /// The topology's type once the scan ended.
    public var topologyType: TopologyType

    public init(reason: Reason, number: Int, startedNS: UInt64, durationMS: Double, checks: [Check],
                coolingDown: [ServerAddress], topologyType: TopologyType) {
        self.reason = reason
        self.number = number
        self.startedNS = startedNS
        self.durationMS = durationMS
        self.checks = checks
        self.coolingDown = coolingDown
        self.topologyType = topologyType
    }

    /// "scan 3 (stale): 3 servers checked in 2.1 ms, ReplicaSetWithPrimary: a:1 RSPrimary
    /// 0.9 ms; b:2 RSSecondary 1.0 ms; c:3 Unknown 2.1 ms (error: …); cooling down: d:4"
    public var summary: String {
        func ms(_ value: Double) -> String {
            let hundredths = (value * 100).rounded() / 100
            return String(hundredths)
        }
        let listed = checks.map { check in
            let joined = check.joined ? " (joined)" : ""
            let error = check.error.map { " (error: \($0))" } ?? ""
            return "\(check.address) \(check.type.rawValue)\(joined) \(ms(check.durationMS)) ms\(error)"
        }
        let cooling = coolingDown.isEmpty ? "" : "; cooling down: " + coolingDown.map(\.description).joined(separator: ", ")
        let noun = checks.count == 1 ? "server" : "servers"
        return "scan \(number) (\(reason.rawValue)): \(checks.count) \(noun) checked in \(ms(durationMS)) ms, "
            + "\(topologyType.rawValue)" + (listed.isEmpty ? "" : ": " + listed.joined(separator: "; ")) + cooling
    }
}
