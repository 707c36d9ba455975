import MongoWire
import MongoBSON
import SDAMCore

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
    package func publish(_ events: [MonitoringEvent]) {
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
