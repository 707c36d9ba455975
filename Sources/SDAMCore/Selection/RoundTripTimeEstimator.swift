import MongoBSON

/// A server's round-trip times as the monitors measure them: the exponentially weighted
/// average the latency window uses (server-selection specification, "Calculation of Average
/// Round Trip Times") and the minimum over recent samples (server-monitoring specification,
/// "Measuring RTT").
///
/// One per monitored server, owned by its monitor. Feed every hello duration to `add`; call
/// `reset` when the server becomes Unknown, so that its next first sample is taken whole.
public struct RoundTripTimeEstimator: Sendable {
    /// The weight of a new sample in the average.
    public static let alpha = 0.2
    /// How many recent samples the minimum is taken over.
    public static let minimumSampleWindow = 10
    /// How many samples must be gathered before the minimum is reported (as 0 until then).
    public static let minimumSamplesForMinimum = 2

    /// The weighted average in milliseconds; nil before the first sample.
    public private(set) var average: Double?
    /// The last `minimumSampleWindow` samples, oldest first.
    private var recent: [Double] = []

    public init() {}

    /// Adds one RTT sample, in milliseconds, and returns the new average: the sample itself
    /// when there was none, else `alpha * sample + (1 - alpha) * average`. Negative or
    /// non-finite samples (a clock fault) count as 0 rather than corrupting the average.
    @discardableResult
    public mutating func add(_ sampleMS: Double) -> Double {
        let sample = sampleMS.isFinite ? max(0, sampleMS) : 0
        let next = average.map { Self.alpha * sample + (1 - Self.alpha) * $0 } ?? sample
        average = next
        recent.append(sample)
        if recent.count > Self.minimumSampleWindow { recent.removeFirst(recent.count - Self.minimumSampleWindow) }
        return next
    }

    /// The minimum of the last 10 samples, or 0 until at least 2 samples were gathered.
    public var minimum: Double {
        guard recent.count >= Self.minimumSamplesForMinimum else { return 0 }
        return recent.min() ?? 0
    }

    /// Forgets every sample: the server became unavailable and its average is cleared.
    public mutating func reset() {
        average = nil
        recent.removeAll(keepingCapacity: true)
    }
}
