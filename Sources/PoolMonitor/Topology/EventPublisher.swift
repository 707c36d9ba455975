import SDAMCore

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
    /// `.dedicatedThread`: the serial queue handlers run on, made with the first handler.
    /// A pool whose events nobody listens to never makes one (making the first dispatch queue
    /// of a process cost about 75 µs of `ClientPool(uri:)`, issue 17).
    private let madeQueue = ConditionLock<DispatchQueueBox?>(nil)
    private let handlers = ConditionLock<[TimedHandler]>([])
    /// `.onDeliverPending`: what waits for the next `deliverPending()`, in order.
    private let pending = ConditionLock<[Pending]>([])

    private enum Pending {
        case events([MonitoringEvent], happenedNS: UInt64, handlers: [TimedHandler])
        case work(@Sendable () -> Void)
    }

    public init(delivery: Delivery = .dedicatedThread) {
        self.delivery = delivery
    }

    /// Adds a handler; it sees every event published after this call.
    public func addHandler(_ handler: @escaping Handler) {
        addTimedHandler { event, _ in handler(event) }
    }

    /// Adds a handler that is also told when each event happened.
    public func addTimedHandler(_ handler: @escaping TimedHandler) {
        if delivery == .dedicatedThread { _ = queue }
        handlers.withLock { $0.append(handler) }
    }

    /// The queue handlers run on, made on first use.
    private var queue: DispatchQueueBox {
        madeQueue.withLock { made in
            if let made { return made }
            let queue = DispatchQueueBox(label: "sdam.events")
            made = queue
            return queue
        }
    }

    /// Queues events for delivery. Callers that must keep a global order (the topology's
    /// transitions) call this while still holding their own lock: it only enqueues.
    package func publish(_ events: [MonitoringEvent]) {
        guard !events.isEmpty else { return }
        let current = handlers.withLock { $0 }
        guard !current.isEmpty else { return }
        let happenedNS = MonotonicClock.nanoseconds()
        switch delivery {
        case .dedicatedThread:
            queue.async {
                for event in events {
                    for handler in current { handler(event, happenedNS) }
                }
            }
        case .onDeliverPending:
            pending.withLock { $0.append(.events(events, happenedNS: happenedNS, handlers: current)) }
        }
    }

    /// Runs `work` where and when handlers run, after the events published before it (a
    /// single-threaded client's scan reports keep their place among the scan's events).
    package func publish(work: @escaping @Sendable () -> Void) {
        switch delivery {
        case .dedicatedThread: queue.async(work)
        case .onDeliverPending: pending.withLock { $0.append(.work(work)) }
        }
    }

    /// Waits until every event queued so far has been delivered.
    ///
    /// Called from a handler (on the publisher's own thread) it returns at once: the events
    /// before the one being handled are delivered already, and waiting for the handler itself
    /// would never end. With `.onDeliverPending` it delivers what is pending on the caller.
    public func flush() {
        switch delivery {
        case .dedicatedThread:
            // No queue yet: no handler was ever added, so nothing was ever queued.
            guard let queue = madeQueue.withLock({ $0 }), !queue.isCurrent else { return }
            queue.sync {}
        case .onDeliverPending:
            deliverPending()
        }
    }

    /// Delivers every pending event on the calling thread (`.onDeliverPending`); a handler that
    /// publishes or calls this again sees its events delivered after the current batch.
    public func deliverPending() {
        while true {
            let batch = pending.withLock { p -> [Pending] in
                defer { p.removeAll() }
                return p
            }
            guard !batch.isEmpty else { return }
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
}
