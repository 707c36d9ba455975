import MongoBSON

/// One server's connection pool options (CMAP "Connection Pool Options"); every pool of a
/// client uses the same.
public struct ConnectionPoolOptions: Sendable, Equatable {
    /// Connections per server at most, pending, available and in use together; 0 = no limit.
    public var maxPoolSize: Int
    /// Connections kept open, populated in the background while the pool is ready.
    public var minPoolSize: Int
    /// An available connection idle longer than this is closed; nil = never.
    public var maxIdleTime: Duration?
    /// Connections being established at once, at most (at least 1).
    public var maxConnecting: Int
    /// How long a check-out waits in the queue; nil = until served, cleared or closed.
    public var waitQueueTimeout: Duration?

    public init(
        maxPoolSize: Int = SDAMDefaults.maxPoolSize,
        minPoolSize: Int = 0,
        maxIdleTime: Duration? = nil,
        maxConnecting: Int = SDAMDefaults.maxConnecting,
        waitQueueTimeout: Duration? = nil
    ) {
        self.maxPoolSize = max(0, maxPoolSize)
        self.minPoolSize = max(0, minPoolSize)
        // CMAP: 0 means no limit for both; a zero maxIdleTime would otherwise make every
        // available connection idle at once, a zero wait-queue timeout fail every wait.
        self.maxIdleTime = maxIdleTime.flatMap { $0 > .zero ? $0 : nil }
        self.maxConnecting = max(1, maxConnecting)
        self.waitQueueTimeout = waitQueueTimeout.flatMap { $0 > .zero ? $0 : nil }
    }

    /// The options that differ from the defaults, as the CMAP PoolCreatedEvent's `options`
    /// names them (`maxPoolSize`, `minPoolSize`, `maxIdleTimeMS`, `maxConnecting`,
    /// `waitQueueTimeoutMS`): "any non-default pool options that were set".
    public var nonDefaultSpecFields: [(String, JSONValue)] {
        let defaults = ConnectionPoolOptions()
        var fields: [(String, JSONValue)] = []
        func number(_ value: Int64) -> JSONValue { .number(String(value)) }
        if maxPoolSize != defaults.maxPoolSize { fields.append(("maxPoolSize", number(Int64(maxPoolSize)))) }
        if minPoolSize != defaults.minPoolSize { fields.append(("minPoolSize", number(Int64(minPoolSize)))) }
        if let maxIdleTime { fields.append(("maxIdleTimeMS", number(maxIdleTime.inMilliseconds))) }
        if maxConnecting != defaults.maxConnecting { fields.append(("maxConnecting", number(Int64(maxConnecting)))) }
        if let waitQueueTimeout { fields.append(("waitQueueTimeoutMS", number(waitQueueTimeout.inMilliseconds))) }
        return fields
    }
}
