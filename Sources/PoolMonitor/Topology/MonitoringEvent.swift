
/// Everything a topology publishes to its handlers: the SDAM events of the state machine and
/// the heartbeat events of the monitors (server-discovery-and-monitoring-logging-and-monitoring).
public enum MonitoringEvent: Sendable {
    case sdam(SDAMEvent)
    /// A check is starting on a server (before connecting or sending hello).
    case serverHeartbeatStarted(ServerAddress, awaited: Bool)
    /// A check succeeded; `durationMS` is its round trip (for a new connection, the handshake's).
    case serverHeartbeatSucceeded(ServerAddress, durationMS: Double, reply: BSONDocument, awaited: Bool)
    /// A check failed; `error` names the server and says what went wrong.
    case serverHeartbeatFailed(ServerAddress, durationMS: Double, error: String, awaited: Bool)
}

/// Delivers monitoring events to handlers in the order they were published, on a thread of its
/// own: never on the loop thread and never under the topology lock (architecture rule 6), so a
/// slow handler delays no check and blocks no selection.
public final class EventPublisher: Sendable {
    public typealias Handler = @Sendable (MonitoringEvent) -> Void
    /// A handler that also receives when the event happened (MonotonicClock nanoseconds):
    /// delivery comes a little later, on the publisher's thread.
    public typealias TimedHandler = @Sendable (MonitoringEvent, UInt64) -> Void

    private let queue = DispatchQueueBox(label: "sdam.events")
    private let handlers = ConditionLock<[TimedHandler]>([])

    public init() {}

    /// Adds a handler; it sees every event published after this call.
    public func addHandler(_ handler: @escaping Handler) {
        handlers.withLock { $0.append { event, _ in handler(event) } }
    }

    /// Adds a handler that is also told when each event happened.
    public func addTimedHandler(_ handler: @escaping TimedHandler) {
        handlers.withLock { $0.append(handler) }
    }

    /// Queues events for delivery. Callers that must keep a global order (the topology's
    /// transitions) call this while still holding their own lock: it only enqueues.
    public func publish(_ events: [MonitoringEvent]) {
        guard !events.isEmpty else { return }
        let current = handlers.withLock { $0 }
        guard !current.isEmpty else { return }
        let happenedNS = MonotonicClock.nanoseconds()
        queue.async {
            for event in events {
                for handler in current { handler(event, happenedNS) }
            }
        }
    }

    /// Waits until every event queued so far has been delivered.
    public func flush() {
        queue.sync {}
    }
}
