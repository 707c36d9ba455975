import MongoBSON

/// How the monitor checks servers, beyond the topology settings.
public struct MonitorOptions: Sendable, Equatable {
    /// Covers a check's connect and its reply (server-monitoring spec: monitoring sockets use
    /// connectTimeoutMS for both), and an application connection's connect and handshake;
    /// nil means no timeout (`connectTimeoutMS=0`).
    public var connectTimeout: Duration?
    /// The `appname` sent in the handshake's client metadata.
    public var appName: String?
    /// The loop thread's name (at most 15 bytes are kept), to tell pools apart in a debugger
    /// or in /proc.
    public var threadName: String
    /// Streaming (awaitable hello) or polling; `auto` streams except on a FaaS platform.
    public var serverMonitoringMode: ServerMonitoringMode

    public init(
        connectTimeout: Duration? = SDAMDefaults.connectTimeout,
        appName: String? = nil,
        threadName: String = SDAMDefaults.monitorThreadName,
        serverMonitoringMode: ServerMonitoringMode = .auto
    ) {
        self.connectTimeout = connectTimeout
        self.appName = appName
        self.threadName = threadName
        self.serverMonitoringMode = serverMonitoringMode
    }

    /// For the package's tests, which think in the connection string's milliseconds (0 = none).
    package init(connectTimeoutMS: Int, threadName: String = SDAMDefaults.monitorThreadName, serverMonitoringMode: ServerMonitoringMode = .auto) {
        self.init(connectTimeout: .optionalTimeout(milliseconds: connectTimeoutMS), threadName: threadName, serverMonitoringMode: serverMonitoringMode)
    }

    /// `connectTimeout` in milliseconds, 0 for none: the unit of the loop's timers.
    package var connectTimeoutMS: Int { connectTimeout.map { Int($0.inMilliseconds) } ?? 0 }

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
