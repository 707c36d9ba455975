/// The client-backpressure spec's overload retry policy, as values: which failed attempts are
/// retried, after how long, and what they cost the client's retry token bucket. Randomness
/// (the jitter) and the bucket's lock are the caller's; nothing here sleeps.
///
/// Rules (client-backpressure.md, "Overload retry policy"):
/// - an attempt that failed with both `SystemOverloadedError` and `RetryableError` is retried,
///   at most `maxAttempts` times (`maxAdaptiveRetries`, default 5), each retry taking one token;
/// - before retry `i` (1-based) the delay is `jitter × min(maxBackoff, base × 2^(i−1))`, with the
///   base 100 ms unless the server's reply names `baseBackoffMS`, and maxBackoff 10 s;
/// - the server that failed is deprioritized in the next selection (unless
///   `enableOverloadRetargeting=false`);
/// - a success deposits 0.1 token (1.1 after a retry); a retry that fails without
///   `SystemOverloadedError` deposits 1 (the server was healthy enough to answer).
public struct OverloadRetryPolicy: Sendable, Equatable {
    public static let systemOverloadedLabel = "SystemOverloadedError"
    public static let retryableLabel = "RetryableError"
    public static let defaultMaxAttempts = 5
    public static let baseBackoff: Duration = .milliseconds(100)
    public static let maxBackoff: Duration = .seconds(10)
    public static let retryTokenReturnRate = 0.1
    public static let tokenBucketCapacity = 1_000.0

    /// Retries allowed after overload errors (`maxAdaptiveRetries`).
    public var maxAttempts: Int
    /// Whether a retry avoids the overloaded server (`enableOverloadRetargeting`).
    public var retargets: Bool

    public init(maxAttempts: Int = OverloadRetryPolicy.defaultMaxAttempts, retargets: Bool = true) {
        self.maxAttempts = max(0, maxAttempts)
        self.retargets = retargets
    }

    /// What to do after a failed attempt.
    public enum Decision: Sendable, Equatable {
        /// Give up: the error goes to the caller.
        case fail
        /// Take one token, wait `delay`, and try again.
        case retry(after: Duration)
    }

    /// Decides after attempt number `attempt` (0 = the first) failed with `labels`.
    /// - Parameters:
    ///   - baseBackoffMS: the server's `baseBackoffMS` in the failed reply, if any.
    ///   - jitter: a random value in [0, 1).
    public func decide(afterAttempt attempt: Int, labels: [String], baseBackoffMS: Int? = nil, jitter: Double) -> Decision {
        guard labels.contains(Self.systemOverloadedLabel), labels.contains(Self.retryableLabel) else { return .fail }
        let retry = attempt + 1
        guard retry <= maxAttempts else { return .fail }
        let base = baseBackoffMS.map { Double(max(0, $0)) } ?? Double(Self.baseBackoff.inMilliseconds)
        let exponential = base * Double(1 << min(retry - 1, 30))
        let capped = min(Double(Self.maxBackoff.inMilliseconds), exponential)
        let delayMS = max(0, min(1, jitter)) * capped
        return .retry(after: .microseconds(Int64((delayMS * 1_000).rounded())))
    }

    /// Tokens an attempt's outcome deposits in the bucket (0 when it deposits none).
    public static func deposit(succeeded: Bool, attempt: Int, labels: [String]) -> Double {
        if succeeded { return attempt > 0 ? retryTokenReturnRate + 1 : retryTokenReturnRate }
        if attempt > 0, !labels.contains(systemOverloadedLabel) { return 1 }
        return 0
    }
}

/// The per-client bucket of retry tokens (capacity 1,000): a retry after an overload error
/// takes one, successes put some back, so a long overload cannot turn into a retry storm. The
/// value type; the client keeps it under a lock.
public struct RetryTokenBucket: Sendable, Equatable {
    public private(set) var tokens: Double
    public let capacity: Double

    public init(capacity: Double = OverloadRetryPolicy.tokenBucketCapacity) {
        self.capacity = capacity
        tokens = capacity
    }

    /// Takes `n` tokens if there are that many.
    public mutating func consume(_ n: Double = 1) -> Bool {
        guard tokens >= n else { return false }
        tokens -= n
        return true
    }

    public mutating func deposit(_ n: Double) {
        tokens = min(capacity, tokens + n)
    }
}
