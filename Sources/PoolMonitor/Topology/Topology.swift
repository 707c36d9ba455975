import MongoBSON
import SDAMCore
import MongoWire


/// The deployment as the client knows it, shared by the monitor's loop thread and the
/// application's threads.
///
/// It holds one immutable `TopologyDescription` (inside the pure `TopologyStateMachine`) under
/// a mutex with a condition variable. Every change is one call of the state machine, then a
/// broadcast, so every thread waiting in server selection re-runs selection at once
/// (architecture rule 3). Readers take a snapshot and work on it without the lock.
public final class Topology: Sendable {
    /// The settings; a `mongodb+srv://` topology's are completed (seeds, TXT options) when DNS
    /// gave its seed list.
    public var settings: TopologySettings { state.withLock { $0.machine.settings } }

    struct State: Sendable {
        var machine: TopologyStateMachine
        /// Grows with every transition that changed something; waiters compare it.
        var version: UInt64 = 0
        var opened = false
        var closed = false
        /// How many times an application error cancelled each server's monitor check. A check
        /// remembers the count when it starts; if it moved by the time its result comes back,
        /// the result is dropped (see `apply`).
        var checkCancellations: [ServerAddress: UInt64] = [:]
        /// Heartbeats started and not yet ended, with when they started and whether awaited:
        /// a server removed with one in flight gets its heartbeat failure before its
        /// ServerClosedEvent (monitoring spec: every started heartbeat ends, and no heartbeat
        /// event follows serverClosed).
        var heartbeatsInFlight: [ServerAddress: (startedNS: UInt64, awaited: Bool)] = [:]
        /// When immediate checks of every server were last forwarded to the monitor.
        var lastCheckAllNS: UInt64?
        /// Pool commands of the transitions so far, not yet handed to the pool sink.
        var poolCommands: [PoolCommand] = []
        /// A thread is handing pool commands to the sink (one at a time, in order).
        var drainingPoolCommands = false
        /// Pool commands queued since the topology was created, and those carried out.
        var poolCommandsQueued = 0
        var poolCommandsDone = 0
        /// The size of the batch the draining thread is carrying out.
        var poolCommandsBeingCarriedOut = 0
        /// Tasks waiting for the next change (the async face's selections), by waiter id;
        /// every change resumes them all, outside the lock.
        var changeWaiters: [UInt64: ChangeWaiter] = [:]
        var nextWaiterID: UInt64 = 1

        /// Takes every waiting task off the list, with the snapshot to resume them with.
        mutating func takeChangeWaiters() -> [ChangeWaiter] {
            guard !changeWaiters.isEmpty else { return [] }
            defer { changeWaiters.removeAll() }
            return Array(changeWaiters.values)
        }
    }

    /// What a transition asks of the servers' connection pools, in transition order: create
    /// (a server joined), close (it left), clear (with whether to interrupt connections in use,
    /// and what cleared it), mark ready.
    package struct PoolCommand: Sendable, Equatable {
        package var action: SDAMAction
        /// Only for a clear after a monitor check timed out (server-monitoring spec).
        package var interruptInUseConnections: Bool
        /// The error that cleared the pool, for PoolClearedError messages.
        package var reason: String?
    }

    private let state: ConditionLock<State>
    public let events: EventPublisher
    /// Where pool commands go, in transition order (the client pool's per-server pools).
    private let poolSink = ConditionLock<Sink<[PoolCommand]>?>(nil)
    /// Where monitor actions (start/stop monitoring, check now, cancel) go: the loop's inbox.
    private let monitorSink = ConditionLock<Sink<[SDAMAction]>?>(nil)

    /// A snapshot of the description with the version it had.
    public struct Snapshot: Sendable {
        public var description: TopologyDescription
        public var version: UInt64
        /// Where the seeds stand (a `mongodb+srv://` topology's wait for DNS, or its refusal).
        public var seedlist: SeedlistStatus = .given
    }

    /// Why a wait on the topology ended without a result.
    public enum WaitError: Error, Sendable, Equatable, CustomStringConvertible {
        case closed
        public var description: String { "the topology was closed" }
    }

    /// Creates the topology in its initial state. No I/O, no thread.
    public init(settings: TopologySettings, events: EventPublisher = EventPublisher()) {
        self.events = events
        state = ConditionLock(State(machine: TopologyStateMachine(settings: settings)))
    }

    /// Connects the topology to the monitor that carries out its monitor actions (nil
    /// disconnects it, when the monitor closes).
    func setMonitorSink(_ sink: (@Sendable ([SDAMAction]) -> Void)?) {
        monitorSink.withLock { $0 = sink.map(Sink.init) }
    }

    /// Connects the topology to the connection pools that carry out its pool commands. Set it
    /// before the topology opens: commands of earlier transitions are not replayed.
    package func setPoolSink(_ sink: (@Sendable ([PoolCommand]) -> Void)?) {
        poolSink.withLock { $0 = sink.map(Sink.init) }
    }

    // MARK: - Reading

    public var snapshot: Snapshot {
        state.withLock { Snapshot(description: $0.machine.description, version: $0.version, seedlist: $0.machine.seedlist) }
    }

    public var description: TopologyDescription { snapshot.description }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// The server's current pool generation; connections made at an older generation are stale.
    public func poolGeneration(for address: ServerAddress) -> Int? {
        state.withLock { $0.machine.poolGeneration(for: address) }
    }

    /// Waits until the topology changes past `version`, it closes, or `deadline` (monotonic
    /// nanoseconds) passes.
    /// - Returns: the new snapshot, or nil on timeout.
    /// - Throws: `WaitError.closed` once the topology is closed.
    public func waitForChange(after version: UInt64, until deadline: UInt64?) throws(WaitError) -> Snapshot? {
        let result: Result<Snapshot, WaitError>? = state.wait(until: deadline) { s in
            if s.closed { return .failure(.closed) }
            if s.version != version { return .success(Snapshot(description: s.machine.description, version: s.version, seedlist: s.machine.seedlist)) }
            return nil
        }
        switch result {
        case .success(let snapshot): return snapshot
        case .failure(let error): throw error
        case nil: return nil
        }
    }

    /// The async face's `waitForChange(after:until:)`: the task registers a continuation
    /// instead of blocking a thread, and every change, the close, the deadline or the task's
    /// cancellation resumes it, exactly once.
    /// - Parameter timers: fires the deadline (the pool's operations loop).
    /// - Returns: the new snapshot, or nil on timeout.
    /// - Throws: `WaitError.closed` once the topology is closed; `CancellationError`.
    package func nextChange(after version: UInt64, until deadline: UInt64?, timers: LoopDeadlines?) async throws -> Snapshot? {
        try Task.checkCancellation()
        let waiter = ChangeWaiter()
        enum Registration { case now(Result<Snapshot?, WaitError>), registered(UInt64) }
        let registration = state.withLock { s -> Registration in
            if s.closed { return .now(.failure(.closed)) }
            if s.version != version { return .now(.success(Snapshot(description: s.machine.description, version: s.version))) }
            let id = s.nextWaiterID
            s.nextWaiterID += 1
            s.changeWaiters[id] = waiter
            return .registered(id)
        }
        guard case .registered(let id) = registration else {
            if case .now(let result) = registration { return try result.get() }
            preconditionFailure("unreachable")
        }
        let withdraw: @Sendable () -> Void = { [state] in state.withLock { _ = $0.changeWaiters.removeValue(forKey: id) } }
        return try await waiter.waiter.value(until: deadline, timers: timers, onDeadline: {
            if waiter.waiter.resume(.success(nil)) { withdraw() }
        }, withdraw: withdraw)
    }

    /// Tasks waiting for a change (for tests and the async face's diagnostics).
    package var changeWaiterCount: Int { state.withLock { $0.changeWaiters.count } }

    /// Wakes every waiting thread and task to look again without a change (a pool that starts
    /// draining tells its waiting selections so).
    package func wakeWaiters() {
        let (woken, snapshot) = state.withLock { s in
            (s.takeChangeWaiters(), Snapshot(description: s.machine.description, version: s.version))
        }
        state.broadcast()
        ChangeWaiter.resume(woken, with: .success(snapshot))
    }

    // MARK: - Transitions

    /// Opens the topology: TopologyOpening, ServerOpening for each seed, and the actions that
    /// start their monitors. Idempotent.
    /// - Parameter act: carries the actions out before the pools are told (see `transition`).
    @discardableResult
    func open(act: (([SDAMAction]) -> Void)? = nil) -> [SDAMAction] {
        transition(act: act) { s in
            guard !s.opened, !s.closed else { return TopologyUpdate() }
            s.opened = true
            return s.machine.open()
        }
    }

    /// How many times application errors have cancelled the server's monitor check; a check
    /// passes the count it started with to `apply`.
    package func checkCancellations(for address: ServerAddress) -> UInt64 {
        state.withLock { $0.checkCancellations[address, default: 0] }
    }

    /// What a monitor check takes when it starts, under one lock: the server's current type
    /// (for the one-retry rule) and its cancellation count (for `apply`).
    func checkStart(for address: ServerAddress) -> (type: ServerType, cancellations: UInt64) {
        state.withLock { s in
            (s.machine.description.servers[address]?.type ?? .unknown, s.checkCancellations[address, default: 0])
        }
    }

    /// Applies a check's outcome (on the loop thread).
    ///
    /// A check that an application error cancelled while it was in flight has no result: the
    /// error marked the server Unknown and cleared its pool, and the cancellation is on its way
    /// to the loop. Applying a reply the server sent before it failed would make it selectable
    /// again for a moment (server-monitoring spec, "Drivers cancel in-progress monitor checks":
    /// the generation-style check that avoids this race). Seen under AddressSanitizer's slower
    /// loop: a write retried after the primary died selected the dead primary again.
    /// - Parameters:
    ///   - checkFailed: the check failed (network error, timeout, `ok: 0`): the server's pool is
    ///     cleared in the same transition.
    ///   - cancellationsAtStart: `checkCancellations(for:)` when the check started; nil applies
    ///     unconditionally.
    /// - Returns: the actions for the monitor. Clearing a pool is the generation bump the state
    ///   machine makes in this same transition, under this lock: connections of an older
    ///   generation are closed instead of used.
    @discardableResult
    package func apply(
        _ server: ServerDescription,
        checkFailed: Bool = false,
        interruptInUseConnections: Bool = false,
        cancellationsAtStart: UInt64? = nil,
        act: (([SDAMAction]) -> Void)? = nil
    ) -> [SDAMAction] {
        transition(clearReason: server.error, interrupt: checkFailed && interruptInUseConnections, act: act) { s in
            DiscoveryTrace.mark("topology: lock taken", server.address)
            guard !s.closed else { return TopologyUpdate() }
            if let cancellationsAtStart, s.checkCancellations[server.address, default: 0] != cancellationsAtStart {
                return TopologyUpdate()
            }
            return checkFailed ? s.machine.checkFailed(server) : s.machine.apply(server)
        }
    }

    /// Applies the hello reply of an application connection's handshake to the server's
    /// description (SDAM: handshakes of application connections SHOULD update it). The round
    /// trip stays the monitor's: a handshake's duration is no RTT sample. A reply older than the
    /// description held (by topologyVersion) changes nothing, as for a check.
    /// In load-balanced mode nothing is applied: the load balancer's description is fixed
    /// (load-balancers spec: a LoadBalancer server is never updated from hello replies).
    package func applyApplicationHandshake(_ reply: BSONDocument, from address: ServerAddress) {
        guard !settings.loadBalanced, let current = description.servers[address] else { return }
        let description = ServerDescription(
            address: address, hello: reply, roundTripTimeMS: current.roundTripTimeMS,
            minRoundTripTimeMS: current.minRoundTripTimeMS, now: MonotonicClock.milliseconds())
        // From an application thread: what the update asks of the monitor (a member the reply
        // named first) goes to it, as an application error's actions do.
        forwardToMonitor(apply(description))
    }

    /// Feeds an application operation's error back into SDAM (from any thread). Monitor
    /// actions (check now, cancel the check) go to the monitor.
    package func handle(_ error: ApplicationError) {
        let actions = transition(clearReason: error.detail ?? "an operation on \(error.address) failed") { s in
            guard !s.closed else { return TopologyUpdate() }
            let update = s.machine.handle(error, now: MonotonicClock.milliseconds())
            for case .cancelCheck(let address) in update.actions { s.checkCancellations[address, default: 0] &+= 1 }
            return update
        }
        forwardToMonitor(actions)
    }

    /// Asks the monitor to check servers soon (all of them when `addresses` is nil), e.g. while
    /// a selection waits.
    ///
    /// Requests for every server coalesce here: at most one is forwarded per
    /// minHeartbeatFrequencyMS, however many waiting threads or tasks ask (each server's
    /// scheduler would coalesce them too, but only after each had cost a loop wake-up and a
    /// pass over every server). A caller that wants its request to count waits until the
    /// returned time and asks again; requests made then are forwarded.
    /// - Returns: when (MonotonicClock nanoseconds) the next request for every server will be
    ///   forwarded; now for a request naming servers.
    @discardableResult
    public func requestImmediateCheck(of addresses: [ServerAddress]? = nil) -> UInt64 {
        let now = MonotonicClock.nanoseconds()
        if let addresses {
            forwardToMonitor(addresses.map(SDAMAction.requestImmediateCheck))
            return now
        }
        let window = UInt64(SDAMDefaults.minHeartbeatFrequency.inMilliseconds) * 1_000_000
        let targets = state.withLock { s -> [ServerAddress]? in
            if let last = s.lastCheckAllNS, now < last + window { return nil }
            s.lastCheckAllNS = now
            return Array(s.machine.description.servers.keys)
        }
        guard let targets else {
            return state.withLock { ($0.lastCheckAllNS ?? now) + window }
        }
        forwardToMonitor(targets.map(SDAMAction.requestImmediateCheck))
        return now + window
    }

    // MARK: - mongodb+srv

    /// The first usable answer of a `mongodb+srv://` topology's DNS lookup: `resolved` (its
    /// settings with the seeds and the TXT options) replaces the settings and the seeds join.
    /// - Returns: the actions for the monitor (start monitoring the seeds).
    @discardableResult
    package func seedlistDiscovered(_ resolved: TopologySettings) -> [SDAMAction] {
        transition { s in
            guard !s.closed else { return TopologyUpdate() }
            return s.machine.seedlistDiscovered(resolved)
        }
    }

    /// A lookup brought no seeds: waiting selections look again (an invalid result fails them
    /// at once; a failed lookup is named when they time out).
    package func seedlistFailed(_ error: SeedlistError) {
        let changed = state.withLock { s -> Bool in
            guard !s.closed, s.machine.seedlistFailed(error) else { return false }
            s.version &+= 1
            return true
        }
        if changed { state.broadcast() }
    }

    /// A rescan's verified hosts (polling spec): servers no longer listed leave, new ones join
    /// (within srvMaxHosts), in a Sharded or Unknown topology.
    /// - Returns: the actions for the monitor, and what changed.
    package func srvRescanned(
        validHosts: [ServerAddress], using generator: inout some RandomNumberGenerator
    ) -> (actions: [SDAMAction], changes: SRVHostChanges) {
        var changes = SRVHostChanges()
        let actions = transition { s in
            guard !s.closed else { return TopologyUpdate() }
            let result = s.machine.srvRescanned(validHosts: validHosts, using: &generator)
            changes = result.changes
            return result.update
        }
        return (actions, changes)
    }

    /// Publishes heartbeat events in order with the SDAM events. A heartbeat that ended already
    /// (its server was removed, see `transition`) publishes nothing more.
    func publish(_ events: [MonitoringEvent]) {
        state.withLock { s in
            let kept = events.filter { event in
                switch event {
                case .serverHeartbeatStarted(let address, let awaited):
                    s.heartbeatsInFlight[address] = (MonotonicClock.nanoseconds(), awaited)
                    return true
                case .serverHeartbeatSucceeded(let address, _, _, _), .serverHeartbeatFailed(let address, _, _, _):
                    return s.heartbeatsInFlight.removeValue(forKey: address) != nil
                case .sdam, .pool, .srv:
                    return true
                }
            }
            self.events.publish(kept)
        }
    }

    /// Closes the topology: ServerClosed for every server, TopologyClosed, and wakes every
    /// waiter, which then fails with `WaitError.closed`.
    @discardableResult
    func close() -> [SDAMAction] {
        let actions = transition { s in
            guard !s.closed else { return TopologyUpdate() }
            s.closed = true
            return s.opened ? s.machine.close() : TopologyUpdate()
        }
        let woken = state.withLock { $0.takeChangeWaiters() }
        state.broadcast()
        ChangeWaiter.resume(woken, with: .failure(WaitError.closed))
        return actions
    }

    /// One transition: run it under the lock, bump the version when it changed anything,
    /// queue its events (in order, before unlocking), unlock, broadcast.
    ///
    /// - Parameter act: the monitor's own transitions, on its loop, pass how it carries out
    ///   their actions, and nothing is returned. They run as soon as the lock is released,
    ///   before the pools are told and the waiters woken, so that a new member's connect (or a
    ///   seed's) is on the wire while that bookkeeping runs (0.05–0.1 ms a transition in a
    ///   process's first discovery, issue 17) — unless the transition made a server usable
    ///   (a pool marked ready) and starts more than `connectsBeforeWaking` monitors: then
    ///   waiting selections wake first, and the connects follow. Opening 49 sockets costs
    ///   2.5 ms of connect calls, and a descriptor-table growth (an RCU wait of 10–15 ms) if
    ///   they cross its size, which a write waiting for the primary that the seed just turned
    ///   out to be must not wait behind; a few connects (0.05 ms each on loopback) it may. A
    ///   check `act` starts usually ends in a later loop turn; one whose connect fails at once ends inside `act`,
    ///   in a nested transition that tells the pools of both (their queue keeps transition
    ///   order); this one's waiters then get its own, older snapshot, and find the newer one
    ///   when they next look.
    private func transition(
        clearReason: String? = nil,
        interrupt: Bool = false,
        act: (([SDAMAction]) -> Void)? = nil,
        _ body: (inout State) -> TopologyUpdate
    ) -> [SDAMAction] {
        let (update, poolCommandsUpTo, woken) = state.withLock { s -> (TopologyUpdate, Int, (waiters: [ChangeWaiter], snapshot: Snapshot)?) in
            let update = body(&s)
            for action in update.actions {
                switch action {
                case .startMonitoring, .stopMonitoring, .markPoolReady:
                    s.poolCommands.append(PoolCommand(action: action, interruptInUseConnections: false, reason: nil))
                case .clearPool:
                    s.poolCommands.append(PoolCommand(action: action, interruptInUseConnections: interrupt, reason: clearReason))
                case .requestImmediateCheck, .cancelCheck:
                    continue
                }
            }
            s.poolCommandsQueued = s.poolCommandsDone + s.poolCommands.count + s.poolCommandsBeingCarriedOut
            // A server no longer monitored has no check left to cancel.
            for case .stopMonitoring(let address) in update.actions { s.checkCancellations[address] = nil }
            var woken: (waiters: [ChangeWaiter], snapshot: Snapshot)?
            DiscoveryTrace.mark("topology: state machine applied")
            if !update.isEmpty {
                s.version &+= 1
                events.publish(Self.monitoringEvents(update.events, endingHeartbeatsOf: &s))
                let waiters = s.takeChangeWaiters()
                if !waiters.isEmpty { woken = (waiters, Snapshot(description: s.machine.description, version: s.version)) }
            }
            return (update, s.poolCommandsQueued, woken)
        }
        let wakeFirst = update.actions.contains { if case .markPoolReady = $0 { true } else { false } }
            && update.actions.count { if case .startMonitoring = $0 { true } else { false } } > Self.connectsBeforeWaking
        if let act, !wakeFirst, !update.actions.isEmpty { act(update.actions) }
        // The pools learn of the transition before waiting selections wake; a selection that
        // looked meanwhile (while `act` ran) has its check-out wait for these commands
        // (`waitForPoolCommands`): either way it finds the pool as this transition left it.
        carryOutPoolCommands(upTo: poolCommandsUpTo)
        DiscoveryTrace.mark("topology: pools told")
        if !update.isEmpty { state.broadcast() }
        DiscoveryTrace.mark("topology: broadcast")
        if let woken { ChangeWaiter.resume(woken.waiters, with: .success(woken.snapshot)) }
        if let act, wakeFirst { act(update.actions) }
        return act == nil ? update.actions : []
    }

    /// How many new monitors a transition that made a server usable may start before waiting
    /// selections wake (`transition`): 8 connect calls, about 0.4 ms on loopback, and fewer
    /// than a descriptor table's doubling from its first size of 64.
    static let connectsBeforeWaking = 8

    /// Hands queued pool commands to the sink, outside the topology lock and in transition
    /// order, and returns once the commands up to `upTo` are carried out. One thread carries
    /// them out at a time; a thread whose commands another is carrying out waits for it (pool
    /// commands only take the pool's lock and queue events: the wait is short, also for the
    /// loop thread). Two threads each carrying out their own could reorder a clear and a
    /// mark-ready and leave a known server's pool paused.
    private func carryOutPoolCommands(upTo target: Int) {
        enum Step {
            case done
            case carryOut([PoolCommand])
            case wait
        }
        while true {
            let step = state.withLock { s -> Step in
                if s.poolCommandsDone >= target { return .done }
                if s.drainingPoolCommands { return .wait }
                s.drainingPoolCommands = true
                let batch = s.poolCommands
                s.poolCommands.removeAll()
                s.poolCommandsBeingCarriedOut = batch.count
                return .carryOut(batch)
            }
            switch step {
            case .done:
                return
            case .carryOut(let batch):
                if let sink = poolSink.withLock({ $0 }) { sink.deliver(batch) }
                state.withLock { s in
                    s.poolCommandsDone += batch.count
                    s.poolCommandsBeingCarriedOut = 0
                    s.drainingPoolCommands = false
                }
                state.broadcast()
            case .wait:
                _ = state.wait(until: nil) { s in (s.poolCommandsDone >= target || !s.drainingPoolCommands) ? true : nil }
            }
        }
    }

    /// Returns once the pool commands of every transition so far are carried out (at once,
    /// after one lock, when none is pending). A check-out calls it before it looks up the
    /// pool of the server its selection saw: the transition that made the server usable may
    /// be one whose commands wait while the loop starts the members' checks (`transition`).
    /// The calling thread may carry them out itself; the loop, finishing its transition, then
    /// waits for that thread (one batch of pool commands: locks, queued events, closes), and
    /// the pool events of that batch may come before the heartbeat events the loop's actions
    /// publish (no spec orders CMAP events against SDAM ones).
    package func waitForPoolCommands() {
        let pending = state.withLock { s in s.poolCommandsDone < s.poolCommandsQueued ? s.poolCommandsQueued : nil }
        if let pending { carryOutPoolCommands(upTo: pending) }
    }

    /// The transition's events, each ServerClosedEvent preceded by the heartbeat failure its
    /// server's check in flight is owed (that check is abandoned when the loop stops the
    /// server's monitor, after this transition).
    private static func monitoringEvents(_ events: [SDAMEvent], endingHeartbeatsOf s: inout State) -> [MonitoringEvent] {
        var result: [MonitoringEvent] = []
        result.reserveCapacity(events.count)
        for event in events {
            if case .serverClosed(let address) = event, let started = s.heartbeatsInFlight.removeValue(forKey: address) {
                let durationMS = Double(MonotonicClock.nanoseconds() &- started.startedNS) / 1e6
                result.append(.serverHeartbeatFailed(
                    address, durationMS: durationMS,
                    error: "\(address): check cancelled: the server was removed from the topology", awaited: started.awaited))
            }
            result.append(.sdam(event))
        }
        return result
    }

    private func forwardToMonitor(_ actions: [SDAMAction]) {
        let monitorActions = actions.filter {
            switch $0 {
            case .startMonitoring, .stopMonitoring, .requestImmediateCheck, .cancelCheck: true
            case .clearPool, .markPoolReady: false
            }
        }
        guard !monitorActions.isEmpty, let sink = monitorSink.withLock({ $0 }) else { return }
        sink.deliver(monitorActions)
    }
}

/// A closure held in a lock, wrapped in a struct: reading a bare closure out of `withLock`'s
/// inout value makes Swift write back a reabstracted copy, so every read wrapped the stored
/// closure in more forwarding thunks (the chain grew with every heartbeat: at 1,000 mongos the
/// pool-command sink alone took 58% of the loop's CPU after a few minutes). A struct's stored
/// closure is copied as it is.
struct Sink<Input>: Sendable {
    let deliver: @Sendable (Input) -> Void

    init(_ deliver: @escaping @Sendable (Input) -> Void) {
        self.deliver = deliver
    }
}
