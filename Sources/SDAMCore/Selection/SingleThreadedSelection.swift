/// Server selection for a single-threaded client (server-selection spec, "Single-threaded
/// server selection") as a value: the loop of scans and selection attempts, decided step by
/// step from the `ScanSchedule` and the clock the caller passes in.
///
/// - The topology is scanned first when a scan is due (never scanned, heartbeatFrequencyMS since
///   the last scan ended, or stale), no sooner than minHeartbeatFrequencyMS after the last one.
/// - A selection that finds nothing marks the topology stale (the caller does, on its schedule).
///   With serverSelectionTryOnce it then scans once, if no scan ran since selection started,
///   and fails after that scan; without it, it scans every minHeartbeatFrequencyMS until
///   serverSelectionTimeoutMS, failing early when the next scan could not start in time.
///
/// The timeout is not a hard deadline, as the spec says: a scan that starts in time finishes.
public struct SingleThreadedSelection: Sendable {
    public enum Step: Sendable, Equatable {
        /// Scan, starting no sooner than `notBefore` (wait until then).
        case scan(notBefore: UInt64)
        /// Run the selector on the topology as it is now.
        case select
        /// Selection failed after a scan that started after selection did, and
        /// serverSelectionTryOnce is set.
        case failAfterScan
        /// serverSelectionTimeoutMS passed, or the next scan could not start before it does.
        case timedOut
    }

    public let startedAt: UInt64
    public let deadline: UInt64
    public let tryOnce: Bool
    /// Scans this selection ran.
    public private(set) var scans = 0

    public init(startedAt: UInt64, timeoutMS: Int64, tryOnce: Bool) {
        self.startedAt = startedAt
        deadline = startedAt + ScanSchedule.nanoseconds(timeoutMS)
        self.tryOnce = tryOnce
    }

    /// What to do next.
    public func next(schedule: ScanSchedule, at now: UInt64) -> Step {
        guard schedule.scanIsDue(at: now) else { return .select }
        if tryOnce && scans > 0 { return .failAfterScan }
        let target = schedule.earliestScanStart(at: now)
        if !tryOnce, target > deadline { return .timedOut }
        return .scan(notBefore: target)
    }

    /// A scan this selection asked for has ended.
    public mutating func scanned() {
        scans += 1
    }

    /// The selector found no suitable server (the caller has marked the schedule stale).
    /// - Returns: the failure to report, or nil to go on with `next`.
    public func selectionFailed(at now: UInt64) -> Step? {
        if tryOnce { return scans > 0 ? .failAfterScan : nil }
        return now >= deadline ? .timedOut : nil
    }
}
