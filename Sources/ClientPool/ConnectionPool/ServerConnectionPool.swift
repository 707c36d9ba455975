import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// What a connection pool needs of the connections it holds.
package protocol PoolableConnection: AnyObject, Sendable {
    /// Shuts the connection down from any thread, so that an operation blocked on it wakes
    /// with an error (its thread then checks it in, and the pool closes it).
    func interrupt()
    /// Closes the connection; called once, by the pool, when it leaves the pool.
    func close()
    /// The service behind a load balancer that the handshake named (load-balanced mode).
    var serviceId: BSONObjectID? { get }
}

extension PoolableConnection {
    package var serviceId: BSONObjectID? { nil }
}

/// Lets a pool interrupt a connection that is still being established (a clear with
/// interruptInUseConnections, or the pool closing): the establishing code registers how to
/// shut its socket down while it holds it, and unregisters before it closes the socket or
/// hands it on. The interrupt runs under this object's lock, so it never reaches a descriptor
/// that was closed (and perhaps reused) meanwhile.
package final class EstablishmentCanceller: Sendable {
    private struct State {
        var cancelled = false
        var interrupt: (@Sendable () -> Void)?
    }

    private let state = ConditionLock(State())

    package init() {}

    /// Registers how to interrupt the connection being established; runs it at once if the
    /// establishment was already cancelled.
    package func register(_ interrupt: @escaping @Sendable () -> Void) {
        state.withLock { s in
            s.interrupt = interrupt
            if s.cancelled { interrupt() }
        }
    }

    /// The socket is about to be closed or handed on: no interrupt may reach it after this.
    package func unregister() {
        state.withLock { $0.interrupt = nil }
    }

    package func cancel() {
        state.withLock { s in
            s.cancelled = true
            s.interrupt?()
        }
    }

    package var isCancelled: Bool { state.withLock { $0.cancelled } }
}

/// One server's connection pool: the pure `ConnectionPoolStateMachine` under a lock with a
/// condition variable, and the I/O its actions ask for, done outside the lock.
///
/// A thread that checks out waits on the condition variable until its request is served; a task
/// (the async face) registers a continuation in the same FIFO queue instead, resumed once,
/// outside the lock, when its request is served, fails, times out or the task is cancelled. A
/// connection created for a request is established by that request's own thread or task (TCP,
/// TLS, handshake, authentication: never on the monitor's loop; a task's waits are on the
/// operations loop); connections that populate minPoolSize are established on background
/// threads, at most maxConnecting at once.
/// Events are queued for delivery under the lock, in the order the state machine emits them.
///
/// `Connection` is not constrained to `PoolableConnection` in the class's signature: the pool
/// takes the conformance's operations when it is made (`init`, where it is required). Making
/// the metadata of a generic type whose signature has a protocol requirement makes the Swift
/// runtime look the conformance up, and its first lookup of a conformance scans every one in
/// the process: about 0.05 ms of the first server's discovery, spent on the monitor's loop
/// thread when the topology opens (issue 17).
package final class ServerConnectionPool<Connection: AnyObject & Sendable>: Sendable {
    /// Establishes a connection: the pool's generation for it, and a canceller to register with.
    package typealias Establish = @Sendable (_ generation: Int, _ canceller: EstablishmentCanceller) throws(ConnectionError) -> Connection
    /// Establishes a connection for a task, its waits on `readiness`'s loop.
    package typealias EstablishAsync = @Sendable (
        _ generation: Int, _ canceller: EstablishmentCanceller, _ readiness: LoopReadiness
    ) async throws -> Connection

    /// Why a check-out failed.
    package enum CheckOutFailure: Error, Sendable {
        case poolClosed
        /// Paused or cleared while waiting; `reason` is what cleared it, when known.
        case poolCleared(reason: String?)
        case timeout
        /// Establishing a new connection failed with this error (already fed to SDAM through
        /// `onEstablishmentFailure`).
        case establishment(ConnectionError)

        /// The CMAP spec's name for the error (`PoolClosedError`, `PoolClearedError`,
        /// `WaitQueueTimeoutError`), as the CMAP tests' `error.type` spells it; an
        /// establishment failure is the connection's own error.
        package var specTypeName: String {
            switch self {
            case .poolClosed: "PoolClosedError"
            case .poolCleared: "PoolClearedError"
            case .timeout: "WaitQueueTimeoutError"
            case .establishment: "ConnectionError"
            }
        }

        /// The CMAP spec's message for the error, worded as its tests expect.
        package func message(address: ServerAddress) -> String {
            switch self {
            case .poolClosed:
                "Attempted to check out a connection from closed connection pool"
            case .poolCleared(let reason):
                "Connection pool for \(address) was cleared because another operation failed with: \(reason ?? "an error")"
            case .timeout:
                "Timed out while checking out a connection from connection pool"
            case .establishment(let error):
                error.reason
            }
        }
    }

    /// A checked-out connection and what the pool knows of it.
    package struct CheckedOut: Sendable {
        package let connection: Connection
        package let connectionID: Int
        package let generation: Int
    }

    private struct Inner {
        var machine: ConnectionPoolStateMachine
        var nextRequest: UInt64 = 1
        var outcomes: [UInt64: Outcome] = [:]
        /// Tasks waiting for their request's outcome (the async face); a request has an outcome
        /// in `outcomes` or a waiter here, never both.
        var waiters: [UInt64: AsyncWaiter<Outcome>] = [:]
        var connections: [Int: Connection] = [:]
        /// Generations of the connections handed out or available (the machine's record).
        var generations: [Int: Int] = [:]
        var cancellers: [Int: EstablishmentCanceller] = [:]
        /// Why the pool was last cleared, for PoolClearedError messages.
        var clearReason: String?

        /// Gives `outcome` to the request's waiting task (resumed after the lock), or keeps it
        /// for the waiting thread (woken by the broadcast).
        mutating func record(_ outcome: Outcome, for request: UInt64, _ work: inout Work) {
            if let waiter = waiters.removeValue(forKey: request) {
                work.resume.append((waiter, outcome))
            } else {
                outcomes[request] = outcome
                work.wake = true
            }
        }
    }

    private enum Outcome: Sendable {
        case connection(Int)
        case establish(connectionID: Int, generation: Int)
        case failed(ConnectionPoolStateMachine.CheckOutError)
    }

    /// I/O collected under the lock, carried out after it.
    private struct Work {
        var close: [Connection] = []
        var interrupt: [Connection] = []
        var cancel: [EstablishmentCanceller] = []
        var populate: [(connectionID: Int, generation: Int)] = []
        var wake = false
        var resume: [(AsyncWaiter<Outcome>, Outcome)] = []
    }

    package let address: ServerAddress
    private let inner: ConditionLock<Inner>
    private let establish: Establish
    private let establishAsync: EstablishAsync?
    private let publish: @Sendable ([ConnectionPoolEvent]) -> Void
    private let background: @Sendable (@escaping @Sendable () -> Void) -> Void
    /// Told about every failed establishment, a check-out's or a background one's, before the
    /// pool records it (SDAM's pre-handshake error handling, which may clear this pool).
    private let onEstablishmentFailure: @Sendable (ConnectionError, Int) -> Void
    /// `PoolableConnection`'s requirements, from the conformance the pool was made with.
    private let interruptConnection: @Sendable (Connection) -> Void
    private let closeConnection: @Sendable (Connection) -> Void
    private let serviceIdOfConnection: @Sendable (Connection) -> BSONObjectID?

    /// Creates the pool, paused, and emits ConnectionPoolCreated.
    /// - Parameters:
    ///   - generation: where the generation starts (the topology's count of clears for the
    ///     server, so that both agree on which connections are stale).
    ///   - publish: where events go, in order (called under the pool's lock: it must only
    ///     enqueue, as `EventPublisher.publish` does).
    ///   - background: runs background work (populating minPoolSize) off the caller's thread.
    package init(
        address: ServerAddress,
        options: ConnectionPoolOptions,
        loadBalanced: Bool = false,
        generation: Int = 0,
        establish: @escaping Establish,
        establishAsync: EstablishAsync? = nil,
        publish: @escaping @Sendable ([ConnectionPoolEvent]) -> Void,
        background: @escaping @Sendable (@escaping @Sendable () -> Void) -> Void,
        onEstablishmentFailure: @escaping @Sendable (ConnectionError, Int) -> Void = { _, _ in }
    ) where Connection: PoolableConnection {
        self.address = address
        let machine = ConnectionPoolStateMachine(address: address, options: options, loadBalanced: loadBalanced, generation: generation)
        inner = ConditionLock(Inner(machine: machine))
        self.establish = establish
        self.establishAsync = establishAsync
        self.publish = publish
        self.background = background
        self.onEstablishmentFailure = onEstablishmentFailure
        interruptConnection = { $0.interrupt() }
        closeConnection = { $0.close() }
        serviceIdOfConnection = { $0.serviceId }
        publish([machine.createdEvent])
    }

    // MARK: - Check-out and check-in

    /// Checks a connection out, establishing a new one on this thread when the pool makes one
    /// for this request.
    /// - Parameter deadline: the wait-queue timeout (monotonic nanoseconds); nil waits until
    ///   served, cleared or closed.
    package func checkOut(deadline: UInt64?) throws(CheckOutFailure) -> CheckedOut {
        let request = inner.withLock { s -> UInt64 in
            defer { s.nextRequest += 1 }
            return s.nextRequest
        }
        run { $0.checkOut(request, nowNS: MonotonicClock.nanoseconds()) }
        while true {
            var outcome = inner.wait(until: deadline) { $0.outcomes.removeValue(forKey: request) }
            if outcome == nil {
                run { $0.timedOut(request, nowNS: MonotonicClock.nanoseconds()) }
                outcome = inner.withLock { $0.outcomes.removeValue(forKey: request) }
            }
            switch outcome {
            case .connection(let id)?:
                return try handedOut(id)
            case .establish(let id, let generation)?:
                try establishForRequest(id, generation: generation)
                // `established` handed the connection to this request: the loop picks it up.
            case .failed(let error)?:
                throw failure(error)
            case nil:
                // Served and timed out at the same instant: the timeout lost, look again.
                continue
            }
        }
    }

    /// Checks a connection out for a task: its request waits in the same queue as a
    /// thread's, as a continuation; a new connection is established by this task, its waits on
    /// `readiness`'s loop.
    /// - Parameters:
    ///   - deadline: the wait-queue timeout (monotonic nanoseconds), fired by `timers`.
    /// - Throws: `CheckOutFailure`; `CancellationError` at once when the task is cancelled
    ///   (the request leaves the queue; a connection handed to it meanwhile goes back).
    package func checkOut(deadline: UInt64?, readiness: LoopReadiness, timers: LoopDeadlines) async throws -> CheckedOut {
        try Task.checkCancellation()
        let waiter = AsyncWaiter<Outcome>()
        let request = inner.withLock { s -> UInt64 in
            defer { s.nextRequest += 1 }
            s.waiters[s.nextRequest] = waiter
            return s.nextRequest
        }
        run { $0.checkOut(request, nowNS: MonotonicClock.nanoseconds()) }
        var current = waiter
        while true {
            let waiting = current
            let outcome = try await waiting.value(until: deadline, timers: timers, onDeadline: { [self] in
                run { $0.timedOut(request, nowNS: MonotonicClock.nanoseconds()) }
            }, withdraw: { [self] in
                run { $0.withdrawn(request, nowNS: MonotonicClock.nanoseconds()) } before: { $0.waiters[request] = nil }
            })
            switch outcome {
            case .connection(let id):
                return try handedOut(id)
            case .establish(let id, let generation):
                // The connection goes to this request once established: wait for it again.
                current = AsyncWaiter<Outcome>()
                inner.withLock { [current] in $0.waiters[request] = current }
                try await establishForRequest(id, generation: generation, request: request, readiness: readiness)
            case .failed(let error):
                throw failure(error)
            }
        }
    }

    private func handedOut(_ id: Int) throws(CheckOutFailure) -> CheckedOut {
        try inner.withLock { s throws(CheckOutFailure) -> CheckedOut in
            guard let connection = s.connections[id] else { throw .poolClosed }
            return CheckedOut(connection: connection, connectionID: id, generation: s.generations[id] ?? 0)
        }
    }

    /// A task that lost the race to its cancellation was handed `outcome`: give it back.
    private func giveBack(_ outcome: Outcome) {
        switch outcome {
        case .connection(let id):
            run { $0.checkIn(id, perished: false, nowNS: MonotonicClock.nanoseconds()) }
        case .establish(let id, _):
            run { $0.establishmentFailed(id, nowNS: MonotonicClock.nanoseconds()) } before: { $0.cancellers[id] = nil }
        case .failed:
            break
        }
    }

    /// Tasks waiting to check out (for tests and diagnostics).
    package var waitingTaskCount: Int { inner.withLock { $0.waiters.count } }

    /// Gives a connection back. `perished`: it failed (network error, timeout, bad reply) and
    /// is closed instead of kept.
    package func checkIn(_ checkedOut: CheckedOut, perished: Bool) {
        run { $0.checkIn(checkedOut.connectionID, perished: perished, nowNS: MonotonicClock.nanoseconds()) }
    }

    // MARK: - SDAM's actions

    /// Marks the pool ready (a successful check of its server).
    package func ready() {
        run { $0.ready(nowNS: MonotonicClock.nanoseconds()) }
    }

    /// Clears the pool; `reason` is what cleared it (named in the PoolClearedErrors that
    /// waiting and later check-outs get).
    package func clear(interruptInUseConnections: Bool, serviceId: BSONObjectID? = nil, reason: String? = nil) {
        run { machine in
            machine.clear(interruptInUseConnections: interruptInUseConnections, serviceId: serviceId, nowNS: MonotonicClock.nanoseconds())
        } before: { s in
            if serviceId == nil { s.clearReason = reason }
        }
    }

    /// Closes the pool: available connections closed, waiters failed, connections in use
    /// interrupted (their operations fail at once and check them in, which closes them).
    package func close() {
        let inUse = inner.withLock { s -> [Connection] in Array(s.connections.values) }
        run { $0.close(nowNS: MonotonicClock.nanoseconds()) }
        let cancellers = inner.withLock { s in Array(s.cancellers.values) }
        for canceller in cancellers { canceller.cancel() }
        for connection in inUse { interruptConnection(connection) }
    }

    /// One background run: idle and stale connections closed, minPoolSize populated.
    package func backgroundRun() {
        run { $0.backgroundRun(nowNS: MonotonicClock.nanoseconds()) }
    }

    /// Counts, for tests and diagnostics.
    package var counts: (total: Int, available: Int, pending: Int, inUse: Int, waiting: Int) {
        inner.withLock { s in
            (s.machine.totalConnectionCount, s.machine.availableConnectionCount, s.machine.pendingConnectionCount,
             s.machine.inUseConnectionCount, s.machine.waitQueueLength)
        }
    }

    package var generation: Int { inner.withLock { $0.machine.generation } }

    // MARK: - Running the state machine

    /// One input: run it under the lock, publish its events there (in order), record outcomes
    /// for waiting requests, then do its I/O outside the lock.
    private func run(
        _ input: (inout ConnectionPoolStateMachine) -> ConnectionPoolStateMachine.Output,
        before: (inout Inner) -> Void = { _ in }
    ) {
        let work = inner.withLock { s -> Work in
            before(&s)
            let output = input(&s.machine)
            if !output.events.isEmpty { publish(output.events) }
            return apply(output.actions, to: &s)
        }
        perform(work)
    }

    private func apply(_ actions: [ConnectionPoolStateMachine.Action], to s: inout Inner) -> Work {
        var work = Work()
        for action in actions {
            switch action {
            case .establish(let id, let generation, let request?):
                // The canceller exists from the moment the connection does, so that a clear
                // with interruptInUseConnections (or the close) that comes before the
                // establishing thread has started still reaches it.
                s.cancellers[id] = EstablishmentCanceller()
                s.record(.establish(connectionID: id, generation: generation), for: request, &work)
            case .establish(let id, let generation, nil):
                s.cancellers[id] = EstablishmentCanceller()
                work.populate.append((id, generation))
            case .handOut(let request, let id):
                s.record(.connection(id), for: request, &work)
            case .fail(let request, let error):
                s.record(.failed(error), for: request, &work)
            case .close(let id):
                if let connection = s.connections.removeValue(forKey: id) { work.close.append(connection) }
                s.generations[id] = nil
                if let canceller = s.cancellers.removeValue(forKey: id) { work.cancel.append(canceller) }
            case .interrupt(let ids):
                for id in ids {
                    if let connection = s.connections[id] { work.interrupt.append(connection) }
                    if let canceller = s.cancellers[id] { work.cancel.append(canceller) }
                }
            }
        }
        return work
    }

    private func perform(_ work: Work) {
        if work.wake { inner.broadcast() }
        for (waiter, outcome) in work.resume where !waiter.resume(.success(outcome)) { giveBack(outcome) }
        for canceller in work.cancel { canceller.cancel() }
        for connection in work.interrupt { interruptConnection(connection) }
        for connection in work.close { closeConnection(connection) }
        for (id, generation) in work.populate {
            background { [self] in establishInBackground(id, generation: generation) }
        }
    }

    // MARK: - Establishing

    /// The canceller `apply` made with the connection (a fresh, cancelled one if the pool
    /// already closed the connection, so that establishing it stops at once).
    private func canceller(for id: Int) -> EstablishmentCanceller {
        if let canceller = inner.withLock({ $0.cancellers[id] }) { return canceller }
        let cancelled = EstablishmentCanceller()
        cancelled.cancel()
        return cancelled
    }

    private func establishForRequest(_ id: Int, generation: Int) throws(CheckOutFailure) {
        guard case .failure(let error, let cancelled) = establishConnection(id, generation: generation) else { return }
        throw establishmentFailure(error, cancelled: cancelled)
    }

    private func establishForRequest(_ id: Int, generation: Int, request: UInt64, readiness: LoopReadiness) async throws {
        let canceller = canceller(for: id)
        do {
            guard let establishAsync else {
                throw ConnectionError(kind: .network, server: address, phase: .beforeHandshakeCompletes,
                                      reason: "this pool has no way to establish connections for tasks")
            }
            let connection = try await establishAsync(generation, canceller, readiness)
            finishEstablishment(id, connection: connection, generation: generation)
        } catch {
            let connectionError = error as? ConnectionError
            let failed = failedEstablishment(id, connectionError, generation: generation, canceller: canceller, request: request)
            // The task's cancellation ends the establishment: the connection is closed, SDAM
            // is not told.
            guard let connectionError else { throw error }
            throw establishmentFailure(connectionError, cancelled: failed)
        }
    }

    /// The check-out's error for a failed establishment: interrupted by a clear or the close,
    /// the pool's error, not the socket's.
    private func establishmentFailure(_ error: ConnectionError, cancelled: Bool) -> CheckOutFailure {
        guard cancelled else { return .establishment(error) }
        return inner.withLock { $0.machine.state } == .closed ? .poolClosed : .poolCleared(reason: inner.withLock { $0.clearReason })
    }

    private func establishInBackground(_ id: Int, generation: Int) {
        _ = establishConnection(id, generation: generation)
    }

    private enum Establishment {
        case established
        case failure(ConnectionError, cancelled: Bool)
    }

    /// Establishes connection `id` and tells the state machine how it went. On failure SDAM's
    /// handling comes first (it may clear the pool), then the connection's close and the failed
    /// check-out: CMAP orders ConnectionPoolCleared before them (DRIVERS-1785,
    /// pool-create-min-size-error). A cancelled establishment (a clear or the close interrupted
    /// it) is the pool's doing and is not fed to SDAM.
    private func establishConnection(_ id: Int, generation: Int) -> Establishment {
        let canceller = canceller(for: id)
        do {
            let connection = try establish(generation, canceller)
            finishEstablishment(id, connection: connection, generation: generation)
            return .established
        } catch {
            return .failure(error, cancelled: failedEstablishment(id, error, generation: generation, canceller: canceller))
        }
    }

    /// Records a failed establishment (`error` nil: the establishing task was cancelled): SDAM
    /// first, unless a clear or the close cancelled it; then the state machine.
    /// - Returns: whether a clear or the close cancelled it.
    private func failedEstablishment(
        _ id: Int, _ error: ConnectionError?, generation: Int, canceller: EstablishmentCanceller, request: UInt64? = nil
    ) -> Bool {
        let cancelled = canceller.isCancelled
        if !cancelled, let error { onEstablishmentFailure(error, generation) }
        run { $0.establishmentFailed(id, nowNS: MonotonicClock.nanoseconds()) } before: { s in
            s.cancellers[id] = nil
            if let request { s.waiters[request] = nil }
        }
        return cancelled
    }

    /// Records the new connection and tells the state machine; if the pool closed or was
    /// cleared with interruption meanwhile, the machine closes it at once.
    private func finishEstablishment(_ id: Int, connection: Connection, generation: Int) {
        run { $0.established(id, serviceId: serviceIdOfConnection(connection), nowNS: MonotonicClock.nanoseconds()) } before: { s in
            s.cancellers[id] = nil
            s.connections[id] = connection
            s.generations[id] = generation
        }
    }

    private func failure(_ error: ConnectionPoolStateMachine.CheckOutError) -> CheckOutFailure {
        switch error {
        case .poolClosed: .poolClosed
        case .poolCleared: .poolCleared(reason: inner.withLock { $0.clearReason })
        case .timeout: .timeout
        }
    }
}

