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
/// dispatch and a thread wake-up per event.
///
/// By default the queue holds every event, however slow the handlers. Made with a `capacity`
/// (as `sdam watch` does), it is bounded: past `capacity` waiting events, heartbeats (the
/// high-volume kind, O(servers) per heartbeat period) are dropped whole — a started event and
/// the succeeded or failed event that ends it, never one without the other — and counted, and
/// the count is told to the drained handlers (`addDrainedHandler`); every other event is kept
/// (SDAM and SRV events are one per change, pool events pair up as the CMAP spec counts them). A
/// handler that cannot keep up then costs a reported gap in its heartbeats, never unbounded
/// memory, and never a wait on the loop.
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

    /// The default `capacity`: unbounded, every event is delivered.
    public static let unbounded = Int.max

    public let delivery: Delivery
    /// How many events may wait before heartbeats are dropped (`unbounded`: never).
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
        /// Servers whose last heartbeat-started event was dropped: the event that ends that
        /// heartbeat is dropped too, so every delivered start has its end.
        var droppedHeartbeats: Set<ServerAddress> = []
        /// `.dedicatedThread`: a drain is scheduled and has not yet found the queue empty.
        var drainScheduled = false
    }

    private enum Pending {
        case event(MonitoringEvent, happenedNS: UInt64, handlers: [TimedHandler])
        case work(@Sendable () -> Void)
        /// `flush()`'s marker: run once the items before it are delivered and the drained
        /// handlers told.
        case flushed(@Sendable () -> Void)
    }

    public init(delivery: Delivery = .dedicatedThread, capacity: Int = EventPublisher.unbounded, batchingDelaySeconds: Double = 0) {
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

    /// Whether a full queue drops `event`, and notes what that implies: a heartbeat's start is
    /// dropped when the queue is full, and then its end too (whatever the queue holds by then);
    /// an end whose start was delivered is kept; nothing else is dropped.
    static func drops(_ event: MonitoringEvent, full: Bool, droppedHeartbeats: inout Set<ServerAddress>) -> Bool {
        switch event {
        case .serverHeartbeatStarted(let address, _):
            if full { droppedHeartbeats.insert(address) } else { droppedHeartbeats.remove(address) }
            return full
        case .serverHeartbeatSucceeded(let address, _, _, _), .serverHeartbeatFailed(let address, _, _, _):
            return droppedHeartbeats.remove(address) != nil
        case .sdam, .srv, .pool:
            return false
        }
    }

    /// Queues events for delivery. Callers that must keep a global order (the topology's
    /// transitions) call this while still holding their own lock: it only enqueues.
    package func publish(_ events: [MonitoringEvent]) {
        guard !events.isEmpty else { return }
        let current = handlers.withLock { $0.timed }
        guard !current.isEmpty else { return }
        let happenedNS = MonotonicClock.nanoseconds()
        // An unbounded queue is never full: no heartbeat is dropped, and none needs tracking.
        let bounded = capacity != Self.unbounded
        enqueue { w in
            for event in events {
                if bounded, Self.drops(event, full: w.events >= capacity, droppedHeartbeats: &w.droppedHeartbeats) {
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
        // Work may come before any handler, which makes the queue: make it now, before the
        // item is queued, so that a `flush()` never finds an item without a queue to drain it.
        if delivery == .dedicatedThread { _ = queue }
        enqueue { $0.items.append(.work(work)) }
    }

    /// Appends under the lock; with `.dedicatedThread`, schedules a drain unless one is. The
    /// queue exists by then (made with the first handler, or by `publish(work:)`), and its lock
    /// is taken only when a drain is scheduled, which most of the loop's publishes do not.
    private func enqueue(_ append: (inout Waiting) -> Void) {
        let schedule = waiting.withLock { w -> Bool in
            append(&w)
            guard delivery == .dedicatedThread, !w.drainScheduled, !w.items.isEmpty || w.dropped > 0 else { return false }
            w.drainScheduled = true
            return true
        }
        guard schedule else { return }
        let queue = self.queue
        if batchingDelaySeconds > 0 {
            queue.async(after: batchingDelaySeconds) { [self] in drain(lingering: true) }
        } else {
            queue.async { [self] in drain(lingering: true) }
        }
    }

    /// Waits until every event queued so far has been delivered.
    ///
    /// A marker is queued behind them and the caller waits for the drain to reach it: events
    /// published after this call do not hold it up, however many keep coming (a drain that
    /// lingers for more would). Called from a handler (on the publisher's own thread) it returns
    /// at once: the events before the one being handled are delivered already, and waiting for
    /// the handler itself would never end. With `.onDeliverPending` it delivers what is pending
    /// on the caller.
    public func flush() {
        switch delivery {
        case .dedicatedThread:
            // No queue yet: nothing was ever queued (the queue is made before anything is).
            guard let queue = madeQueue.withLock({ $0 }), !queue.isCurrent else { return }
            let reached = ConditionLock(false)
            enqueue {
                $0.items.append(.flushed {
                    reached.withLock { $0 = true }
                    reached.broadcast()
                })
            }
            _ = reached.wait(until: nil) { $0 ? true : nil }
        case .onDeliverPending:
            deliverPending()
        }
    }

    /// Delivers every pending event on the calling thread (`.onDeliverPending`); a handler that
    /// publishes or calls this again sees its events delivered after the current batch. On a
    /// publisher with a thread of its own it is `flush()`: a second, concurrent delivery would
    /// run handlers out of order.
    public func deliverPending() {
        guard delivery == .onDeliverPending else {
            flush()
            return
        }
        drain(lingering: false)
    }

    /// Delivers batches until the queue is empty, then tells the drained handlers (when this
    /// drain delivered or dropped anything). `.dedicatedThread`: runs on the queue only.
    ///
    /// `lingering` (a drain that enqueueing scheduled): finding nothing, it tells the drained
    /// handlers, waits `lingerNS` (or the batching delay, if longer) and looks once more before
    /// it lets the next event schedule a new drain (under the same lock as `enqueue`). While
    /// events keep coming, as heartbeats of thousands of servers do, publishers then wake
    /// nobody — each wake-up of an idle drain thread is a futex call on the publisher's thread,
    /// often the loop's — and an event waits at most a linger longer. The drained handlers hear
    /// each time the queue is found empty, so a buffering handler flushes at least that often.
    private func drain(lingering: Bool) {
        var delivered = false
        var dropped = 0
        var lingered = !lingering
        let pause = max(Self.lingerNS, Int(batchingDelaySeconds * 1e9))
        func tellDrained() {
            for handler in handlers.withLock({ $0.drained }) { handler(dropped) }
            delivered = false
            dropped = 0
        }
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
                if delivered || dropped > 0 { tellDrained() }
                if lingered { return }
                lingered = true
                Self.sleep(nanoseconds: pause)
                continue
            }
            lingered = !lingering
            delivered = true
            var flushes: [@Sendable () -> Void] = []
            for item in batch {
                switch item {
                case .event(let event, let happenedNS, let handlers):
                    for handler in handlers { handler(event, happenedNS) }
                case .work(let work):
                    work()
                case .flushed(let done):
                    flushes.append(done)
                }
            }
            guard !flushes.isEmpty else { continue }
            // A flush returns once what came before it is delivered and the drained handlers
            // have heard of it (a buffering handler has written it out), also while events
            // keep coming after it.
            tellDrained()
            flushes.forEach { $0() }
        }
    }
}
