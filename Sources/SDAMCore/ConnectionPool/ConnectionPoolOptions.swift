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
        self.maxIdleTime = maxIdleTime
        self.maxConnecting = max(1, maxConnecting)
        self.waitQueueTimeout = waitQueueTimeout
    }
}
