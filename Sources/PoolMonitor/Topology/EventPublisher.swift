import SDAMCore
#if canImport(Glibc)
import Glibc
#endif

/// Delivers monitoring events to handlers in the order they were published: never on the loop
/// thread and never under the topology lock (architecture rule 6), so a slow handler delays no
/// check and blocks no selection.
///
/// Where they are delivered is the `Delivery` it was made with: on a thread of its own (the
/// pooled default), or on the owner's thread when it calls `deliverPending()` (a client that has
/// no thread of its own delivers between operations).
public final class EventPublisher: Sendable {
    public typealias Handler = @Sendable (MonitoringEvent) -> Void
    /// A handler that also receives when the event happened (MonotonicClock nanoseconds):
    /// delivery comes a little later, on the publisher's thread.
    public typealias TimedHandler = @Sendable (MonitoringEvent, UInt64) -> Void

    /// Where handlers run.
    public enum Delivery: Sendable, Equatable {
        /// On a serial thread of the publisher's own.
        case dedicatedThread
        /// Queued until the owner calls `deliverPending()`, then on the caller's thread.
        case onDeliverPending
    }

    public let delivery: Delivery
    private let queue = DispatchQueueBox(label: "sdam.events")
    private let handlers = ConditionLock<[TimedHandler]>([])
    private let pending = ConditionLock(Outbox())

    private enum Pending {
        case events([MonitoringEvent], happenedNS: UInt64, handlers: [TimedHandler])
        case work(@Sendable () -> Void)
    }

    /// What waits for delivery, in order: for the next `deliverPending()` (`.onDeliverPending`)
    /// or for the queue's drain (`.dedicatedThread`).
    private struct Outbox {
        var items: [Pending] = []
        /// `.dedicatedThread`: a drain is queued or running, and takes what is added meanwhile.
        /// One queued block per batch rather than per event: a block that finds the queue idle
        /// wakes a thread, a futex call on the publishing thread (often the loop's), and 10,000
        /// mongos at 500 ms publish 40,000 heartbeat events a second.
        var drainQueued = false

        mutating func take() -> [Pending] {
            var taken: [Pending] = []
            swap(&taken, &items)
            return taken
        }
    }

    public init(delivery: Delivery = .dedicatedThread) {
        self.delivery = delivery
    }

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
        enqueue(.events(events, happenedNS: happenedNS, handlers: current))
    }

    /// Adds to what waits; with a thread of its own, queues a drain unless one is queued.
    private func enqueue(_ item: Pending) {
        let queueDrain = pending.withLock { outbox -> Bool in
            outbox.items.append(item)
            guard delivery == .dedicatedThread, !outbox.drainQueued else { return false }
            outbox.drainQueued = true
            return true
        }
        if queueDrain { queue.async { self.drain() } }
    }

    /// On the queue: delivers what waits, batch after batch. Finding nothing, it lingers for
    /// `lingerNS` and looks once more before it lets the next item queue a new drain (under
    /// the same lock as `enqueue`): while events keep coming, as heartbeats of thousands of
    /// servers do, the publishers wake nobody, and this thread wakes once a linger on its
    /// own timer. An event waits at most a linger longer; one alone, none.
    private func drain() {
        var lingered = false
        while true {
            let batch = pending.withLock { outbox -> [Pending] in
                if outbox.items.isEmpty, lingered { outbox.drainQueued = false }
                return outbox.take()
            }
            if batch.isEmpty {
                if lingered { return }
                lingered = true
                Self.sleep(nanoseconds: Self.lingerNS)
                continue
            }
            lingered = false
            deliver(batch)
        }
    }

    /// How long a drain that found nothing waits for more before it ends.
    static let lingerNS = 1_000_000

    private static func sleep(nanoseconds: Int) {
        var request = timespec(tv_sec: 0, tv_nsec: nanoseconds)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }

    /// Runs `work` where and when handlers run, after the events published before it (a
    /// single-threaded client's scan reports keep their place among the scan's events).
    package func publish(work: @escaping @Sendable () -> Void) {
        enqueue(.work(work))
    }

    /// Waits until every event queued so far has been delivered.
    ///
    /// Called from a handler (on the publisher's own thread) it returns at once: the events
    /// before the one being handled are delivered already, and waiting for the handler itself
    /// would never end. With `.onDeliverPending` it delivers what is pending on the caller.
    public func flush() {
        switch delivery {
        case .dedicatedThread:
            guard !queue.isCurrent else { return }
            queue.sync {}
        case .onDeliverPending:
            deliverPending()
        }
    }

    /// Delivers every pending event on the calling thread (`.onDeliverPending`); a handler that
    /// publishes or calls this again sees its events delivered after the current batch.
    public func deliverPending() {
        while true {
            let batch = pending.withLock { $0.take() }
            guard !batch.isEmpty else { return }
            deliver(batch)
        }
    }

    private func deliver(_ batch: [Pending]) {
        for item in batch {
            switch item {
            case .events(let events, let happenedNS, let handlers):
                for event in events {
                    for handler in handlers { handler(event, happenedNS) }
                }
            case .work(let work):
                work()
            }
        }
    }
}
