import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The options a pool and its clients work by, read from the connection string once; options
/// the string leaves out take the specifications' defaults.
public struct ClientPoolSettings: Sendable, Equatable {
    /// Clients the pool creates at most (`maxPoolSize`, default 100; 0 means no limit). Each
    /// client owns its own connections, as in libmongoc's pooled mode.
    public var maxPoolSize: Int = 100
    /// How long `pop()` waits for a free client (`waitQueueTimeoutMS`); nil or 0 waits until
    /// one is pushed back or the pool closes.
    public var waitQueueTimeoutMS: Int? = nil
    /// How long selection waits for a suitable server (`serverSelectionTimeoutMS`, 30 s).
    public var serverSelectionTimeoutMS: Int = 30_000
    /// The latency window's width (`localThresholdMS`, 15 ms).
    public var localThresholdMS: Int = 15
    /// The monitors' interval, which bounds maxStalenessSeconds (`heartbeatFrequencyMS`).
    public var heartbeatFrequencyMS: Int = TopologySettings.defaultHeartbeatFrequencyMS
    /// TCP connect and handshake of an application connection (`connectTimeoutMS`, 10 s; 0 =
    /// none).
    public var connectTimeoutMS: Int = 10_000
    /// One command's send and reply on an application connection (`socketTimeoutMS`; 0 or
    /// nil = none).
    public var socketTimeoutMS: Int? = nil
    /// The URI's read preference (`readPreference`, `readPreferenceTags`,
    /// `maxStalenessSeconds`). `runCommand` ignores it, as the spec's generic command method
    /// must; it is here for helpers built on top.
    public var readPreference: ReadPreference = .primary
    /// Sent in every handshake's client metadata (`appname`).
    public var appName: String? = nil
    /// `loadBalanced`: the handshake then uses OP_MSG hello with `loadBalanced: true`.
    public var loadBalanced: Bool = false
    /// `serverMonitoringMode`: stream, poll, or `auto` (stream except on a FaaS platform).
    public var serverMonitoringMode: ServerMonitoringMode = .auto

    /// The monitor thread's name (tests tell their pools' threads apart by it).
    var monitorThreadName = "sdam-monitor"

    public init() {}

    /// What the pool's monitor is told: the monitoring sockets use connectTimeoutMS too.
    var monitorOptions: MonitorOptions {
        MonitorOptions(connectTimeoutMS: connectTimeoutMS, appName: appName, threadName: monitorThreadName,
                       serverMonitoringMode: serverMonitoringMode)
    }

    /// The settings a parsed connection string asks for.
    public init(connectionString: ConnectionString) {
        let options = connectionString.options
        if let maxPoolSize = options.maxPoolSize { self.maxPoolSize = maxPoolSize }
        waitQueueTimeoutMS = options.waitQueueTimeoutMS
        if let timeout = options.serverSelectionTimeoutMS { serverSelectionTimeoutMS = timeout }
        if let threshold = options.localThresholdMS { localThresholdMS = threshold }
        if let heartbeat = options.heartbeatFrequencyMS { heartbeatFrequencyMS = heartbeat }
        if let connect = options.connectTimeoutMS { connectTimeoutMS = connect }
        socketTimeoutMS = options.socketTimeoutMS
        if let readPreference = options.readPreference { self.readPreference = readPreference }
        appName = options.appName
        loadBalanced = options.loadBalanced ?? false
        if let mode = options.serverMonitoringMode { serverMonitoringMode = mode }
    }

    /// The pure selector these settings configure.
    var selector: ServerSelector {
        ServerSelector(localThresholdMS: localThresholdMS, heartbeatFrequencyMS: heartbeatFrequencyMS)
    }
}
