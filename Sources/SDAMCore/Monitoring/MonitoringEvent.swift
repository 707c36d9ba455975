import MongoBSON


/// Everything a topology publishes to its handlers: the SDAM events of the state machine and
/// the heartbeat events of the monitors (server-discovery-and-monitoring-logging-and-monitoring).
public enum MonitoringEvent: Sendable {
    case sdam(SDAMEvent)
    /// What one server's connection pool did (connection-monitoring-and-pooling spec).
    case pool(ConnectionPoolEvent)
    /// A check is starting on a server (before connecting or sending hello).
    case serverHeartbeatStarted(ServerAddress, awaited: Bool)
    /// A check succeeded; `durationMS` is its round trip (for a new connection, the handshake's).
    case serverHeartbeatSucceeded(ServerAddress, durationMS: Double, reply: BSONDocument, awaited: Bool)
    /// A check failed; `error` names the server and says what went wrong.
    case serverHeartbeatFailed(ServerAddress, durationMS: Double, error: String, awaited: Bool)
    /// A `mongodb+srv://` topology's DNS lookup: the initial one and SRV polling's rescans.
    case srv(SRVEvent)
}
