import MongoBSON

/// How the monitor checks servers, beyond the topology settings.
public struct MonitorOptions: Sendable, Equatable {
    /// Covers a check's connect and its reply (server-monitoring spec: monitoring sockets use
    /// connectTimeoutMS for both). 0 means no timeout.
    public var connectTimeoutMS: Int
    /// The `appname` sent in the handshake's client metadata.
    public var appName: String?
    /// The loop thread's name (at most 15 bytes are kept), to tell pools apart in a debugger
    /// or in /proc.
    public var threadName: String
    /// Streaming (awaitable hello) or polling; `auto` streams except on a FaaS platform.
    public var serverMonitoringMode: ServerMonitoringMode

    public init(
        connectTimeoutMS: Int = 10_000,
        appName: String? = nil,
        threadName: String = "sdam-monitor",
        serverMonitoringMode: ServerMonitoringMode = .auto
    ) {
        self.connectTimeoutMS = connectTimeoutMS
        self.appName = appName
        self.threadName = threadName
        self.serverMonitoringMode = serverMonitoringMode
    }

    /// Whether monitors stream from servers that support it, per the server-monitoring spec:
    /// `stream` always, `poll` never, `auto` unless the process runs on a FaaS platform.
    public func streamingEnabled(environment: [String: String]) -> Bool {
        switch serverMonitoringMode {
        case .stream: true
        case .poll: false
        case .auto: !FaaSDetection.isFaaS(environment: environment)
        }
    }
}
