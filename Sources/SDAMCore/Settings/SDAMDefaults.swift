/// Every default and limit of the options this driver reads, defined once: the settings
/// types, the monitor's scheduler, selection and the pool all take them from here.
///
/// Values are the specifications' (uri-options, server-monitoring, server-selection, CMAP).
public enum SDAMDefaults {
    /// `heartbeatFrequencyMS`: 10 s for a pooled (multi-threaded) client.
    public static let heartbeatFrequency: Duration = .seconds(10)
    /// `heartbeatFrequencyMS` of a single-threaded client: 60 s (server-monitoring spec), the
    /// time between scans in the steady state.
    public static let singleThreadedHeartbeatFrequency: Duration = .seconds(60)
    /// cooldownMS: a single-threaded client skips a server whose check failed with a network
    /// error for this long (server-monitoring spec; fixed, not an option).
    public static let cooldown: Duration = .seconds(5)
    /// `socketCheckIntervalMS` (single-threaded only): a connection idle this long is checked
    /// before the application uses it again (server-selection spec).
    public static let socketCheckInterval: Duration = .seconds(5)
    /// `socketTimeoutMS` of a single-threaded client when the connection string leaves it out:
    /// 5 minutes, as libmongoc's. No monitor runs while a single-threaded client waits for a
    /// reply, so nothing else would end the wait on a server that stops answering.
    public static let singleThreadedSocketTimeout: Duration = .seconds(300)
    /// The fixed floor between two checks of one server (minHeartbeatFrequencyMS); not an option.
    public static let minHeartbeatFrequency: Duration = .milliseconds(500)
    /// The largest heartbeat kept (about 34 years), so that schedule arithmetic cannot overflow.
    public static let maxHeartbeatFrequency: Duration = .milliseconds(1 << 40)
    /// `localThresholdMS`: the latency window's width.
    public static let localThreshold: Duration = .milliseconds(15)
    /// `serverSelectionTimeoutMS`.
    public static let serverSelectionTimeout: Duration = .seconds(30)
    /// `connectTimeoutMS`: a TCP connect and, for monitors, the check's reply.
    public static let connectTimeout: Duration = .seconds(10)
    /// `maxPoolSize`: clients a pool hands out at most, and connections per server at most.
    public static let maxPoolSize = 100
    /// `maxConnecting`: connections one server's pool establishes at once.
    public static let maxConnecting = 2
    /// The monitor thread's name (at most 15 bytes are kept by Linux).
    public static let monitorThreadName = "sdam-monitor"
}

extension Duration {
    /// The duration in whole milliseconds, rounded down (negative durations clamp to 0 ms):
    /// the unit of the connection string and of the monotonic schedules.
    public var inMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        return overflow ? Int64.max : product + attoseconds / 1_000_000_000_000_000
    }

    /// A connection-string option in milliseconds as a duration; nil for 0 or less, which the
    /// uri-options spec gives as "no timeout".
    public static func optionalTimeout(milliseconds: Int?) -> Duration? {
        guard let milliseconds, milliseconds > 0 else { return nil }
        return .milliseconds(milliseconds)
    }
}
