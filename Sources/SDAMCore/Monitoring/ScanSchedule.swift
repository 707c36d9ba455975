/// Single-threaded monitoring (server-monitoring spec, "Single-threaded monitoring") as a value:
/// when a client without a monitor thread must scan, which servers a scan checks, and when the
/// scan is complete. It reads no clock and checks nothing; the client's shell requests the
/// checks and reports how each ended.
///
/// The shell checks every server of a scan at once and waits for all of them (libmongoc's
/// fan-out and fan-in), so a scan lasts as long as its slowest check. The spec's scanning order
/// (the primary first, then the least recently checked, one at a time) only matters to a serial
/// scan; what it is for still holds: a primary's host list is applied the moment its reply
/// arrives, and servers that join during the scan are checked before it completes.
///
/// Times are monotonic nanoseconds on the caller's clock.
public struct ScanSchedule: Sendable {
    /// cooldownMS: fixed by the spec, not configurable.
    public static var cooldownMS: Int64 { 5_000 }
    /// minHeartbeatFrequencyMS: the least time between the end of a scan and the next.
    public static var minHeartbeatFrequencyMS: Int64 { 500 }

    /// One scan in progress (or just ended).
    public struct Scan: Sendable, Equatable {
        public let startedAt: UInt64
        /// Servers whose check in this scan has not ended yet.
        public internal(set) var pending: Set<ServerAddress> = []
        /// Servers whose check ended, in the order they ended, with when.
        public internal(set) var ended: [(server: ServerAddress, at: UInt64)] = []
        /// Servers left out because a check of theirs failed with a network error less than
        /// cooldownMS before the scan started.
        public internal(set) var coolingDown: [ServerAddress] = []
        /// Servers that joined the topology while the scan ran (their first check belongs to it).
        public internal(set) var joined: [ServerAddress] = []

        public var isComplete: Bool { pending.isEmpty }

        public static func == (lhs: Scan, rhs: Scan) -> Bool {
            lhs.startedAt == rhs.startedAt && lhs.pending == rhs.pending && lhs.coolingDown == rhs.coolingDown
                && lhs.joined == rhs.joined && lhs.ended.map(\.server) == rhs.ended.map(\.server)
                && lhs.ended.map(\.at) == rhs.ended.map(\.at)
        }
    }

    /// Clamped to at least minHeartbeatFrequencyMS.
    public let heartbeatFrequencyMS: Int64
    public private(set) var lastScanEndedAt: UInt64?
    /// Set by a failed selection or an error that says the topology is out of date; a scan
    /// clears it.
    public private(set) var isStale = false
    public private(set) var scan: Scan?
    public private(set) var scansCompleted = 0
    /// When each server's last check failed with a network error (cooldownMS counts from there).
    private var networkFailures: [ServerAddress: UInt64] = [:]
    /// Every server the current scan has seen (so that a server that left and came back during
    /// it is not checked twice).
    private var seen: Set<ServerAddress> = []

    public init(heartbeatFrequencyMS: Int64) {
        self.heartbeatFrequencyMS = max(heartbeatFrequencyMS, Self.minHeartbeatFrequencyMS)
    }

    // MARK: - Before an operation

    /// Whether an operation must scan before it selects a server: the client never scanned,
    /// heartbeatFrequencyMS passed since the last scan ended, or the topology is stale.
    public func scanIsDue(at now: UInt64) -> Bool {
        guard let last = lastScanEndedAt else { return true }
        return isStale || now >= last + Self.nanoseconds(heartbeatFrequencyMS)
    }

    /// The earliest a scan may start: minHeartbeatFrequencyMS after the previous one ended
    /// (now for the first).
    public func earliestScanStart(at now: UInt64) -> UInt64 {
        guard let last = lastScanEndedAt else { return now }
        return max(now, last + Self.nanoseconds(Self.minHeartbeatFrequencyMS))
    }

    /// The next operation scans first.
    public mutating func markStale() {
        isStale = true
    }

    /// Whether an operation's error makes the topology stale (SDAM "Error handling" for
    /// single-threaded clients): a "not writable primary" or "node is shutting down" error, and
    /// a network error or timeout on an established connection (which closes the server's one
    /// connection, so the next operation must check it). "Node is recovering" does not: a
    /// recovering node answers a scan no better.
    public static func marksTopologyStale(_ error: ApplicationError) -> Bool {
        switch error.kind {
        case .network, .timeout:
            return true
        case .command(let reply):
            guard let stateChange = StateChangeError(reply: reply) else { return false }
            return stateChange.kind == .notWritablePrimary || stateChange.isShutdown
        case .authentication:
            return false
        }
    }

    // MARK: - A scan

    /// A scan begins with the topology's servers. Returns the servers to check now: all of them
    /// but those cooling down.
    public mutating func beginScan(of servers: some Sequence<ServerAddress>, at now: UInt64) -> [ServerAddress] {
        var started = Scan(startedAt: now)
        seen = []
        var toCheck: [ServerAddress] = []
        for server in servers.sorted() where seen.insert(server).inserted {
            if isCoolingDown(server, at: now) {
                started.coolingDown.append(server)
            } else {
                started.pending.insert(server)
                toCheck.append(server)
            }
        }
        scan = started
        return toCheck
    }

    /// The topology's servers now, during the scan: a server that joined is added (its
    /// monitor's first check, which starts when it joins, is part of this scan) unless it is
    /// cooling down; one that left is no longer waited for.
    /// - Returns: the servers that joined and are now pending.
    @discardableResult
    public mutating func serversChanged(to servers: Set<ServerAddress>, at now: UInt64) -> [ServerAddress] {
        guard var current = scan else { return [] }
        current.pending.formIntersection(servers)
        var joined: [ServerAddress] = []
        for server in servers.sorted() where seen.insert(server).inserted {
            current.joined.append(server)
            if isCoolingDown(server, at: now) {
                current.coolingDown.append(server)
            } else {
                current.pending.insert(server)
                joined.append(server)
            }
        }
        networkFailures = networkFailures.filter { servers.contains($0.key) }
        scan = current
        return joined
    }

    /// A server's check ended (its one retry included); `networkError` starts its cooldown.
    public mutating func checkEnded(_ server: ServerAddress, networkError: Bool, at now: UInt64) {
        if networkError {
            networkFailures[server] = now
        } else {
            networkFailures[server] = nil
        }
        guard var current = scan, current.pending.remove(server) != nil else { return }
        current.ended.append((server, now))
        scan = current
    }

    /// Ends the scan: the topology is fresh, and heartbeatFrequencyMS counts from now.
    /// - Returns: what the scan did.
    @discardableResult
    public mutating func endScan(at now: UInt64) -> Scan? {
        let ended = scan
        scan = nil
        lastScanEndedAt = now
        isStale = false
        scansCompleted += 1
        return ended
    }

    /// A server whose last check failed with a network error less than cooldownMS ago.
    public func isCoolingDown(_ server: ServerAddress, at now: UInt64) -> Bool {
        guard let failedAt = networkFailures[server] else { return false }
        return now < failedAt + Self.nanoseconds(Self.cooldownMS)
    }

    static func nanoseconds(_ milliseconds: Int64) -> UInt64 { UInt64(max(0, milliseconds)) * 1_000_000 }
}
