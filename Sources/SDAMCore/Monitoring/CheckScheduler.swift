import MongoBSON

/// When one server's next check runs, per the server-monitoring spec's polling protocol — as a
/// value that takes inputs and returns what to do, so the loop only executes.
///
/// Rules it keeps (server-monitoring.md, "Multi-threaded or asynchronous monitoring"):
/// - the next check is `heartbeatFrequencyMS` after the previous one ended; checks never overlap;
/// - an immediate-check request wakes a waiting monitor, but no sooner than
///   `minHeartbeatFrequencyMS` after the previous check ended; requests coalesce, and a request
///   that arrives while a check is in flight is ignored;
/// - after a network error on a server that was known, the next check starts at once (one retry,
///   not a loop: the retry's own failure waits for the next heartbeat);
/// - a monitoring connection the server closed while idle counts as a request to check now.
///
/// Times are milliseconds on the caller's monotonic clock.
public struct CheckScheduler: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// Created, first check not yet started.
        case notStarted
        /// Sleeping until `dueAtMS`.
        case waiting(dueAtMS: Int64)
        /// A check is in flight.
        case checking
        case stopped
    }

    /// What the loop must do after an input.
    public enum Action: Sendable, Equatable {
        /// Start a check now (connect first if the monitoring connection is closed).
        case startCheck
        /// (Re-)arm the server's timer to fire at `dueAtMS`.
        case armTimer(dueAtMS: Int64)
        /// Nothing to do.
        case none
    }

    public static let minHeartbeatFrequencyMS: Int64 = 500

    public let heartbeatFrequencyMS: Int64
    public private(set) var phase: Phase = .notStarted
    /// When the previous check ended, if any.
    public private(set) var lastCheckEndedMS: Int64?
    /// Whether the check in flight is the one immediate retry after a network error.
    public private(set) var checkIsRetry = false

    /// The largest heartbeat kept (about 31 years), so that schedule arithmetic cannot overflow.
    public static let maxHeartbeatFrequencyMS: Int64 = 1 << 40

    public init(heartbeatFrequencyMS: Int64) {
        self.heartbeatFrequencyMS = min(max(heartbeatFrequencyMS, Self.minHeartbeatFrequencyMS), Self.maxHeartbeatFrequencyMS)
    }

    /// The monitor starts: its first check runs at once.
    public mutating func start() -> Action {
        guard phase == .notStarted else { return .none }
        phase = .checking
        checkIsRetry = false
        return .startCheck
    }

    /// The server's timer fired.
    public mutating func timerFired(nowMS: Int64) -> Action {
        guard case .waiting(let due) = phase else { return .none }
        // libev may fire a hair early relative to our clock: re-arm instead of checking early.
        guard nowMS >= due else { return .armTimer(dueAtMS: due) }
        phase = .checking
        checkIsRetry = false
        return .startCheck
    }

    /// Somebody wants the server checked soon (a waiting selection, an application error, an
    /// idle connection the server closed).
    public mutating func requestImmediateCheck(nowMS: Int64) -> Action {
        guard case .waiting(let due) = phase else { return .none }  // in flight: ignored
        let earliest = (lastCheckEndedMS ?? nowMS) + Self.minHeartbeatFrequencyMS
        let newDue = max(nowMS, earliest)
        guard newDue < due else { return .none }  // already due as soon or sooner: coalesce
        if newDue <= nowMS {
            phase = .checking
            checkIsRetry = false
            return .startCheck
        }
        phase = .waiting(dueAtMS: newDue)
        return .armTimer(dueAtMS: newDue)
    }

    /// The check in flight ended with a reply (any reply, `ok: 0` included: the topology judges it).
    public mutating func checkSucceeded(nowMS: Int64) -> Action {
        guard phase == .checking else { return .none }
        return scheduleNext(endedMS: nowMS)
    }

    /// A streaming reply arrived and the stream goes on (the next awaited reply is being read,
    /// or the next awaitable hello is sent at once: the streaming protocol never sleeps). The
    /// check stays in flight; requests for an immediate check keep being ignored, since the
    /// server pushes every change.
    public mutating func streamingReplyReceived(nowMS: Int64) {
        guard phase == .checking else { return }
        lastCheckEndedMS = nowMS
        checkIsRetry = false
    }

    /// The check in flight failed.
    /// - Parameters:
    ///   - isNetworkError: a connection, read or write failure or a timeout (as opposed to a
    ///     command error).
    ///   - serverWasKnown: the server's description before this check was not Unknown.
    public mutating func checkFailed(nowMS: Int64, isNetworkError: Bool, serverWasKnown: Bool) -> Action {
        guard phase == .checking else { return .none }
        if isNetworkError, serverWasKnown, !checkIsRetry {
            lastCheckEndedMS = nowMS
            checkIsRetry = true
            return .startCheck
        }
        return scheduleNext(endedMS: nowMS)
    }

    /// The monitor is removed or the pool closes: no more checks.
    public mutating func stop() {
        phase = .stopped
    }

    private mutating func scheduleNext(endedMS: Int64) -> Action {
        lastCheckEndedMS = endedMS
        checkIsRetry = false
        let due = endedMS + heartbeatFrequencyMS
        phase = .waiting(dueAtMS: due)
        return .armTimer(dueAtMS: due)
    }
}
