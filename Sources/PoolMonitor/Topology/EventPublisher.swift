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
///
/// Events wait in one queue, drained in batches: publishing appends under a lock and schedules
/// a drain only when none is scheduled, so a busy publisher costs one hand-off per batch, not a
/// dispatch and a thread wake-up per event. The queue is bounded: past `capacity` waiting
/// events, heartbeats and single connections' pool events (the high-volume kinds, O(servers)
/// per heartbeat period) are dropped and counted, and the count is told to the drained
/// handlers (`addDrainedHandler`); SDAM, SRV and pool-state events are always kept (there is
/// one per change the deployment makes, each of which took a check). A handler that cannot keep
/// up thus costs a reported gap in its heartbeats, never unbounded memory, and never a wait on
/// the loop.
public final class EventPublisher: Sendable {
    public typealias Handler = @Sendable (MonitoringEvent) -> Void
    /// A handler that also receives when the event happened (MonotonicClock nanoseconds):
    /// delivery comes a little later, on the publisher's thread.
    public typealias TimedHandler = @Sendable (MonitoringEvent, UInt64) -> Void
    /// Runs after a drain has delivered everything that was waiting, with how many events were
    /// dropped (queue full) since the previous call: where a handler that buffers its output
    /// flushes it, and reports a gap.
    public typealias DrainedHandler = @Sendable (_ dropped: Int) -> Void

    /// Where handlers run.
    public enum Delivery: Sendable, Equatable {
        /// On a serial thread of the publisher's own.
        case dedicatedThread
        /// Queued until the owner calls `deliverPending()`, then on the caller's thread.
        case onDeliverPending
    }

    /// The default `capacity`: some seconds of heartbeats of a thousand servers at 500 ms.
    public static let defaultCapacity = 65_536

    public let delivery: Delivery
    /// How many events may wait before heartbeat and connection events are dropped.
    public let capacity: Int
    /// `.dedicatedThread`: how long a drain waits after the first event of a batch, so that the
    /// events of that time are delivered in one wake-up of the publisher's thread (0: at once).
    public let batchingDelaySeconds: Double
    /// `.dedicatedThread`: the serial queue drains run on, made with the first handler. A
    /// pool whose events nobody listens to never makes one (making a process's first dispatch
    /// queue cost about 75 µs of `ClientPool(uri:)`, issue 17).
    private let madeQueue = ConditionLock<DispatchQueueBox?>(nil)
    private let handlers = ConditionLock<Handlers>(Handlers())
    private let waiting = ConditionLock<Waiting>(Waiting())

    private struct Handlers {
        var timed: [TimedHandler] = []
        var drained: [DrainedHandler] = []
    }

    /// What waits for delivery, in order, with the drain's bookkeeping.
    private struct Waiting {
        var items: [Pending] = []
        /// Events in `items` (work items not counted).
        var events = 0
        var dropped = 0
        /// `.dedicatedThread`: a drain is scheduled and has not yet found the queue empty.
        var drainScheduled = false
    }

    private enum Pending {
        case event(MonitoringEvent, happenedNS: UInt64, handlers: [TimedHandler])
        case work(@Sendable () -> Void)
    }

    public init(delivery: Delivery = .dedicatedThread, capacity: Int = EventPublisher.defaultCapacity, batchingDelaySeconds: Double = 0) {
        self.delivery = delivery
        self.capacity = max(1, capacity)
        self.batchingDelaySeconds = max(0, batchingDelaySeconds)
    }

    /// Adds a handler; it sees every event published after this call.
    public func addHandler(_ handler: @escaping Handler) {
        addTimedHandler { event, _ in handler(event) }
    }

    /// Adds a handler that is also told when each event happened.
    public func addTimedHandler(_ handler: @escaping TimedHandler) {
        if delivery == .dedicatedThread { _ = queue }
        handlers.withLock { $0.timed.append(handler) }
    }

    /// Adds a handler run after each drain that delivered something (see `DrainedHandler`).
    public func addDrainedHandler(_ handler: @escaping DrainedHandler) {
        handlers.withLock { $0.drained.append(handler) }
    }

    /// How long a scheduled drain that found nothing waits for more before it ends.
    static let lingerNS = 1_000_000

    private static func sleep(nanoseconds: Int) {
        var request = timespec(tv_sec: 0, tv_nsec: nanoseconds)
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
    }

    /// The queue drains run on, made on first use. Its thread is started then too (an empty
    /// work item), so that the first event's delivery does not wait for Dispatch to start one
    /// while the monitor discovers the deployment.
    private var queue: DispatchQueueBox {
        let (queue, new) = madeQueue.withLock { made -> (DispatchQueueBox, Bool) in
            if let made { return (made, false) }
            let queue = DispatchQueueBox(label: "sdam.events")
            made = queue
            return (queue, true)
        }
        if new { queue.async {} }
        return queue
    }

    /// Whether the queue drops `event` when full: the kinds whose number grows with time and
    /// servers rather than with changes.
    static func isDroppable(_ event: MonitoringEvent) -> Bool {
        switch event {
        case .serverHeartbeatStarted, .serverHeartbeatSucceeded, .serverHeartbeatFailed: true
        case .pool(let pool):
            switch pool {
            case .poolCreated, .poolReady, .poolCleared, .poolClosed: false
            default: true
            }
        case .sdam, .srv: false
        }
    }

    /// Queues events for delivery. Callers that must keep a global order (the topology's
    /// transitions) call this while still holding their own lock: it only enqueues.
    package func publish(_ events: [MonitoringEvent]) {
        guard !events.isEmpty else { return }
        let current = handlers.withLock { $0.timed }
        guard !current.isEmpty else { return }
        let happenedNS = MonotonicClock.nanoseconds()
        enqueue { w in
            for event in events {
                if w.events >= capacity, Self.isDroppable(event) {
                    w.dropped += 1
                    continue
                }
                w.items.append(.event(event, happenedNS: happenedNS, handlers: current))
                w.events += 1
            }
        }
    }

    /// Runs `work` where and when handlers run, after the events published before it (a
    /// single-threaded client's scan reports keep their place among the scan's events).
    package func publish(work: @escaping @Sendable () -> Void) {
        enqueue { $0.items.append(.work(work)) }
    }

    /// Appends under the lock; with `.dedicatedThread`, schedules a drain unless one is.
    private func enqueue(_ append: (inout Waiting) -> Void) {
        let schedule = waiting.withLock { w -> Bool in
            append(&w)
            guard delivery == .dedicatedThread, !w.drainScheduled, !w.items.isEmpty || w.dropped > 0 else { return false }
            w.drainScheduled = true
            return true
        }
        guard schedule else { return }
        if batchingDelaySeconds > 0 {
            queue.async(after: batchingDelaySeconds) { [self] in drain(lingering: true) }
        } else {
            queue.async { [self] in drain(lingering: true) }
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
            // No queue yet: nothing was ever queued (events are queued only for handlers).
            guard let queue = madeQueue.withLock({ $0 }), !queue.isCurrent else { return }
            // A batching drain may be scheduled for later: drain now, in the queue's order.
            queue.sync { drain(lingering: false) }
        case .onDeliverPending:
            deliverPending()
        }
    }

    /// Delivers every pending event on the calling thread (`.onDeliverPending`); a handler that
    /// publishes or calls this again sees its events delivered after the current batch.
    public func deliverPending() {
        drain(lingering: false)
    }

    /// Delivers batches until the queue is empty, then tells the drained handlers (when this
    /// drain delivered or dropped anything). `.dedicatedThread`: runs on the queue only.
    ///
    /// `lingering` (a drain that enqueueing scheduled): finding nothing, it waits `lingerNS`
    /// and looks once more before it lets the next event schedule a new drain (under the same
    /// lock as `enqueue`). While events keep coming, as heartbeats of thousands of servers do,
    /// publishers then wake nobody — each wake-up of an idle drain thread is a futex call on
    /// the publisher's thread, often the loop's — and an event waits at most a linger longer.
    private func drain(lingering: Bool) {
        var delivered = false
        var dropped = 0
        var lingered = !lingering
        while true {
            let batch = waiting.withLock { w -> [Pending] in
                let items = w.items
                dropped += w.dropped
                w.items = []
                w.events = 0
                w.dropped = 0
                if items.isEmpty, lingered { w.drainScheduled = false }
                return items
            }
            if batch.isEmpty {
                if lingered { break }
                lingered = true
                Self.sleep(nanoseconds: Self.lingerNS)
                continue
            }
            lingered = !lingering
            delivered = true
            for item in batch {
                switch item {
                case .event(let event, let happenedNS, let handlers):
                    for handler in handlers { handler(event, happenedNS) }
                case .work(let work):
                    work()
                }
            }
        }
        guard delivered || dropped > 0 else { return }
        for handler in handlers.withLock({ $0.drained }) { handler(dropped) }
    }
}
