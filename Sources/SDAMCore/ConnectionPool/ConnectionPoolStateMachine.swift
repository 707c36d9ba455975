import MongoBSON

/// One server's connection pool as the CMAP specification describes it, as a value: every input
/// is a `mutating func` that returns the events the pool emits and the actions its owner must
/// carry out. It reads no clock (times come in as monotonic nanoseconds), owns no socket and
/// waits for nothing; the owner holds it under a lock, publishes the events in order, and does
/// the I/O the actions ask for outside the lock (postgres-nio's `PoolStateMachine` shape).
///
/// What it keeps:
/// - states paused (initial), ready and closed; a generation bumped by every clear, and one per
///   serviceId in load-balanced mode;
/// - a FIFO wait queue: a request is served only when every older one has been (the
///   wait-queue-fairness rule), by an available non-perished connection (most recently checked
///   in first) or by a new one while fewer than maxPoolSize exist and fewer than maxConnecting
///   are being established;
/// - perished connections (stale, idle, errored) closed as they are met, available ones at once
///   when the pool is cleared or closed; in-use ones of the cleared generation interrupted when
///   the clear asks for it;
/// - minPoolSize populated while ready, through `backgroundRun`.
public struct ConnectionPoolStateMachine: Sendable {
    /// Identifies one check-out request; the owner chooses them (unique per pool).
    public typealias RequestID = UInt64

    public enum State: Sendable, Equatable {
        case paused, ready, closed
    }

    /// Why a request failed.
    public enum CheckOutError: Error, Sendable, Equatable {
        /// The pool is closed.
        case poolClosed
        /// The pool is paused, or was cleared while the request waited: retryable, and no
        /// reason to mark the server Unknown (CMAP "Clearing a Connection Pool").
        case poolCleared
        /// The request waited in the queue longer than waitQueueTimeoutMS.
        case timeout
    }

    /// What the owner must do.
    public enum Action: Sendable, Equatable {
        /// Establish connection `connectionID` (TCP, handshake, later TLS and authentication)
        /// at `generation`, then report `established` or `establishmentFailed`. `request` is
        /// the check-out it serves (that thread should do it), nil for a background populate.
        case establish(connectionID: Int, generation: Int, request: RequestID?)
        /// Hand the established connection `connectionID` to `request`: its check-out is done.
        case handOut(request: RequestID, connectionID: Int)
        /// `request` failed.
        case fail(request: RequestID, CheckOutError)
        /// Close the socket of `connectionID` (its ConnectionClosed event is in the output).
        case close(connectionID: Int)
        /// Interrupt connections in use or being established (shut their sockets down): the
        /// pool was cleared with interruptInUseConnections.
        case interrupt(connectionIDs: [Int])
    }

    /// The result of one input.
    public struct Output: Sendable, Equatable {
        public var events: [ConnectionPoolEvent] = []
        public var actions: [Action] = []
        public init() {}
    }

    enum ConnectionState: Sendable, Equatable {
        /// Being established; serves `request` when done (nil: populating the pool).
        case pending(request: RequestID?)
        /// In the pool since `sinceNS`.
        case available(sinceNS: UInt64)
        case inUse
    }

    struct Connection: Sendable, Equatable {
        var id: Int
        var generation: Int
        var serviceId: BSONObjectID?
        var state: ConnectionState
        var createdNS: UInt64
        /// Interrupted by a clear: closed as soon as it is checked in or its establishment ends.
        var interrupted = false
    }

    struct Request: Sendable, Equatable {
        var id: RequestID
        var startedNS: UInt64
    }

    public let address: ServerAddress
    public let options: ConnectionPoolOptions
    public let loadBalanced: Bool
    public private(set) var state: State = .paused
    /// Bumped by every clear (CMAP: connections of an older generation are stale).
    public private(set) var generation = 0
    /// Load-balanced mode: generation and connection count per service.
    private(set) var serviceGenerations: [BSONObjectID: (generation: Int, count: Int)] = [:]
    private(set) var connections: [Int: Connection] = [:]
    /// Available connections, least recently checked in first (check-out takes the last).
    private(set) var available: [Int] = []
    private(set) var waitQueue: [Request] = []
    private var nextConnectionID = 1

    /// - Parameter generation: where the generation starts (a pool made for a server whose
    ///   earlier pool was cleared continues its count, so SDAM's and the pool's agree).
    public init(address: ServerAddress, options: ConnectionPoolOptions, loadBalanced: Bool = false, generation: Int = 0) {
        self.address = address
        self.options = options
        self.loadBalanced = loadBalanced
        self.generation = generation
    }

    /// The event the owner emits when it creates the pool (CMAP "Creating a Connection Pool").
    public var createdEvent: ConnectionPoolEvent { .poolCreated(address, options: options) }

    // MARK: - Counts

    public var totalConnectionCount: Int { connections.count }
    public var availableConnectionCount: Int { available.count }
    public var pendingConnectionCount: Int {
        connections.values.reduce(0) { if case .pending = $1.state { $0 + 1 } else { $0 } }
    }
    public var inUseConnectionCount: Int {
        connections.values.reduce(0) { $1.state == .inUse ? $0 + 1 : $0 }
    }
    public var waitQueueLength: Int { waitQueue.count }

    // MARK: - Inputs

    /// A thread asks for a connection.
    public mutating func checkOut(_ request: RequestID, nowNS: UInt64) -> Output {
        var out = Output()
        out.events.append(.connectionCheckOutStarted(address))
        switch state {
        case .closed:
            out.events.append(.connectionCheckOutFailed(address, reason: .poolClosed, durationMS: 0))
            out.actions.append(.fail(request: request, .poolClosed))
            return out
        case .paused:
            out.events.append(.connectionCheckOutFailed(address, reason: .connectionError, durationMS: 0))
            out.actions.append(.fail(request: request, .poolCleared))
            return out
        case .ready:
            waitQueue.append(Request(id: request, startedNS: nowNS))
            serviceWaitQueue(nowNS: nowNS, &out)
            return out
        }
    }

    /// A request's wait-queue timeout passed. Nothing happens if it was served meanwhile.
    public mutating func timedOut(_ request: RequestID, nowNS: UInt64) -> Output {
        leaveQueue(request, reason: .timeout, failing: .timeout, nowNS: nowNS)
    }

    /// The requester no longer waits (its task was cancelled): the request leaves the queue.
    /// Nothing happens if it was served meanwhile (the owner gives back what it was handed).
    public mutating func withdrawn(_ request: RequestID, nowNS: UInt64) -> Output {
        leaveQueue(request, reason: .cancelled, failing: nil, nowNS: nowNS)
    }

    private mutating func leaveQueue(
        _ request: RequestID, reason: CheckOutFailedReason, failing error: CheckOutError?, nowNS: UInt64
    ) -> Output {
        var out = Output()
        guard let index = waitQueue.firstIndex(where: { $0.id == request }) else { return out }
        let waited = waitQueue.remove(at: index)
        out.events.append(.connectionCheckOutFailed(address, reason: reason, durationMS: Self.ms(nowNS, since: waited.startedNS)))
        if let error { out.actions.append(.fail(request: request, error)) }
        serviceWaitQueue(nowNS: nowNS, &out)
        return out
    }

    /// A connection's establishment succeeded (`serviceId` from its handshake in load-balanced
    /// mode).
    public mutating func established(_ connectionID: Int, serviceId: BSONObjectID? = nil, nowNS: UInt64) -> Output {
        var out = Output()
        guard var connection = connections[connectionID], case .pending(let request) = connection.state else { return out }
        if loadBalanced, let serviceId {
            connection.serviceId = serviceId
            var entry = serviceGenerations[serviceId] ?? (generation: 0, count: 0)
            entry.count += 1
            serviceGenerations[serviceId] = entry
            connection.generation = entry.generation
        }
        connections[connectionID] = connection
        // A background connection made stale by a clear while it was being established is of
        // no use to anyone: closed now rather than kept available until a check-out meets it.
        let staleBackground = request == nil && isStale(connection)
        if state == .closed || connection.interrupted || staleBackground {
            let reason: ConnectionClosedReason = state == .closed ? .poolClosed : .stale
            let checkOutReason: CheckOutFailedReason = state == .closed ? .poolClosed : .connectionError
            closeConnection(connectionID, reason: reason, &out)
            if let request {
                // The check-out's duration runs from its ConnectionCheckOutStarted, not from
                // the connection's creation.
                let started = requestStarts.removeValue(forKey: request) ?? connection.createdNS
                out.events.append(.connectionCheckOutFailed(address, reason: checkOutReason, durationMS: Self.ms(nowNS, since: started)))
                out.actions.append(.fail(request: request, state == .closed ? .poolClosed : .poolCleared))
            }
            serviceWaitQueue(nowNS: nowNS, &out)
            return out
        }
        out.events.append(.connectionReady(address, connectionId: connectionID, durationMS: Self.ms(nowNS, since: connection.createdNS)))
        if let request {
            connections[connectionID]?.state = .inUse
            out.events.append(.connectionCheckedOut(address, connectionId: connectionID, durationMS: Self.ms(nowNS, since: requestStarts[request] ?? connection.createdNS)))
            requestStarts[request] = nil
            out.actions.append(.handOut(request: request, connectionID: connectionID))
        } else {
            makeAvailable(connectionID, nowNS: nowNS)
        }
        serviceWaitQueue(nowNS: nowNS, &out)
        return out
    }

    /// A connection's establishment failed. The owner feeds the error to SDAM (a pre-handshake
    /// or handshake error) and fails the request with it.
    public mutating func establishmentFailed(_ connectionID: Int, nowNS: UInt64) -> Output {
        var out = Output()
        guard let connection = connections[connectionID], case .pending(let request) = connection.state else { return out }
        // Interrupted by a clear: it failed because the pool was cleared (CMAP "stale").
        closeConnection(connectionID, reason: connection.interrupted ? .stale : .error, &out)
        if let request {
            out.events.append(.connectionCheckOutFailed(address, reason: .connectionError, durationMS: Self.ms(nowNS, since: requestStarts[request] ?? connection.createdNS)))
            requestStarts[request] = nil
        }
        serviceWaitQueue(nowNS: nowNS, &out)
        return out
    }

    /// A connection comes back. `perished`: it had a network error, a timeout or an unusable
    /// reply, so it must not be used again.
    public mutating func checkIn(_ connectionID: Int, perished: Bool = false, nowNS: UInt64) -> Output {
        var out = Output()
        guard let connection = connections[connectionID], connection.state == .inUse else { return out }
        out.events.append(.connectionCheckedIn(address, connectionId: connectionID))
        if state == .closed {
            closeConnection(connectionID, reason: .poolClosed, &out)
        } else if isStale(connection) || connection.interrupted {
            closeConnection(connectionID, reason: .stale, &out)
        } else if perished {
            closeConnection(connectionID, reason: .error, &out)
        } else {
            makeAvailable(connectionID, nowNS: nowNS)
        }
        serviceWaitQueue(nowNS: nowNS, &out)
        return out
    }

    /// Clears the pool (SDAM marked the server Unknown, or an application error said to).
    ///
    /// Without `serviceId`: the generation is bumped, the pool pauses, every waiting request
    /// fails with `poolCleared`, available connections are closed at once (stale), and with
    /// `interruptInUseConnections` the connections in use or being established of the cleared
    /// generation are interrupted. PoolCleared is emitted only if the pool was not paused
    /// already. With `serviceId` (load-balanced mode): that service's generation is bumped and
    /// nothing pauses.
    public mutating func clear(interruptInUseConnections: Bool = false, serviceId: BSONObjectID? = nil, nowNS: UInt64) -> Output {
        var out = Output()
        guard state != .closed else { return out }
        if loadBalanced, let serviceId {
            if var entry = serviceGenerations[serviceId] {
                entry.generation += 1
                serviceGenerations[serviceId] = entry
            }
            out.events.append(.poolCleared(address, serviceId: serviceId, interruptInUseConnections: false))
            closeAvailable(where: { $0.serviceId == serviceId }, reason: .stale, &out)
            return out
        }
        let clearedGeneration = generation
        generation += 1
        let wasPaused = state == .paused
        state = .paused
        if !wasPaused {
            out.events.append(.poolCleared(address, serviceId: nil, interruptInUseConnections: interruptInUseConnections))
        }
        for request in waitQueue {
            out.events.append(.connectionCheckOutFailed(address, reason: .connectionError, durationMS: Self.ms(nowNS, since: request.startedNS)))
            out.actions.append(.fail(request: request.id, .poolCleared))
        }
        waitQueue.removeAll()
        closeAvailable(where: { _ in true }, reason: .stale, &out)
        if interruptInUseConnections {
            var interrupted: [Int] = []
            for id in connections.keys.sorted() {
                guard var connection = connections[id], connection.generation <= clearedGeneration else { continue }
                switch connection.state {
                case .inUse, .pending:
                    connection.interrupted = true
                    connections[id] = connection
                    interrupted.append(id)
                case .available:
                    continue
                }
            }
            if !interrupted.isEmpty { out.actions.append(.interrupt(connectionIDs: interrupted)) }
        }
        return out
    }

    /// Marks the pool ready (a successful check of its server); populating may start.
    public mutating func ready(nowNS: UInt64) -> Output {
        var out = Output()
        guard state == .paused else { return out }
        state = .ready
        out.events.append(.poolReady(address))
        populate(nowNS: nowNS, &out)
        return out
    }

    /// Closes the pool: available connections are closed, waiting requests fail, PoolClosed is
    /// emitted; connections in use are closed when they come back.
    public mutating func close(nowNS: UInt64) -> Output {
        var out = Output()
        guard state != .closed else { return out }
        state = .closed
        closeAvailable(where: { _ in true }, reason: .poolClosed, &out)
        for request in waitQueue {
            out.events.append(.connectionCheckOutFailed(address, reason: .poolClosed, durationMS: Self.ms(nowNS, since: request.startedNS)))
            out.actions.append(.fail(request: request.id, .poolClosed))
        }
        waitQueue.removeAll()
        out.events.append(.poolClosed(address))
        return out
    }

    /// One run of the background thread: close perished available connections (idle past
    /// maxIdleTimeMS, stale), then populate towards minPoolSize as far as maxConnecting allows.
    public mutating func backgroundRun(nowNS: UInt64) -> Output {
        var out = Output()
        guard state != .closed else { return out }
        let snapshot = self
        closeAvailable(where: { snapshot.isStale($0) }, reason: .stale, &out)
        if let maxIdle = options.maxIdleTime {
            let limitNS = UInt64(max(0, maxIdle.inMilliseconds)) * 1_000_000
            closeAvailable(where: { c in
                if case .available(let since) = c.state { return nowNS &- since >= limitNS }
                return false
            }, reason: .idle, &out)
        }
        populate(nowNS: nowNS, &out)
        return out
    }

    // MARK: - Serving the queue

    /// When each request entered the queue, kept until its check-out ends (for durations).
    private var requestStarts: [RequestID: UInt64] = [:]

    private mutating func serviceWaitQueue(nowNS: UInt64, _ out: inout Output) {
        guard state == .ready else { return }
        while let head = waitQueue.first {
            if let connectionID = takeAvailable(nowNS: nowNS, &out) {
                waitQueue.removeFirst()
                connections[connectionID]?.state = .inUse
                out.events.append(.connectionCheckedOut(address, connectionId: connectionID, durationMS: Self.ms(nowNS, since: head.startedNS)))
                out.actions.append(.handOut(request: head.id, connectionID: connectionID))
                continue
            }
            // A connection populating the pool is on its way and, once available, goes to
            // the head of the queue (CMAP: threads blocked by maxConnecting check out the
            // minPoolSize connections); the head does not open another one meanwhile.
            guard pendingPopulateCount == 0, canCreate else { return }
            waitQueue.removeFirst()
            requestStarts[head.id] = head.startedNS
            createConnection(for: head.id, nowNS: nowNS, &out)
        }
        populate(nowNS: nowNS, &out)
    }

    /// Connections being established for no request (populating minPoolSize).
    private var pendingPopulateCount: Int {
        connections.values.reduce(0) { $1.state == .pending(request: nil) ? $0 + 1 : $0 }
    }

    private var canCreate: Bool {
        (options.maxPoolSize == 0 || connections.count < options.maxPoolSize) && pendingConnectionCount < options.maxConnecting
    }

    /// The most recently checked-in available connection that is not perished; perished ones
    /// met on the way are closed.
    private mutating func takeAvailable(nowNS: UInt64, _ out: inout Output) -> Int? {
        while let id = available.popLast() {
            guard let connection = connections[id] else { continue }
            if isStale(connection) {
                closeConnection(id, reason: .stale, &out, alreadyRemovedFromAvailable: true)
                continue
            }
            if isIdle(connection, nowNS: nowNS) {
                closeConnection(id, reason: .idle, &out, alreadyRemovedFromAvailable: true)
                continue
            }
            return id
        }
        return nil
    }

    private mutating func createConnection(for request: RequestID?, nowNS: UInt64, _ out: inout Output) {
        let id = nextConnectionID
        nextConnectionID += 1
        connections[id] = Connection(id: id, generation: generation, state: .pending(request: request), createdNS: nowNS)
        out.events.append(.connectionCreated(address, connectionId: id))
        out.actions.append(.establish(connectionID: id, generation: generation, request: request))
    }

    /// Background connections towards minPoolSize, while ready and within maxConnecting.
    private mutating func populate(nowNS: UInt64, _ out: inout Output) {
        guard state == .ready, waitQueue.isEmpty else { return }
        while connections.count < options.minPoolSize, canCreate {
            createConnection(for: nil, nowNS: nowNS, &out)
        }
    }

    private mutating func makeAvailable(_ connectionID: Int, nowNS: UInt64) {
        connections[connectionID]?.state = .available(sinceNS: nowNS)
        available.append(connectionID)
    }

    private mutating func closeAvailable(where predicate: (Connection) -> Bool, reason: ConnectionClosedReason, _ out: inout Output) {
        let closing = available.filter { id in connections[id].map(predicate) ?? false }
        guard !closing.isEmpty else { return }
        available.removeAll { closing.contains($0) }
        for id in closing { closeConnection(id, reason: reason, &out, alreadyRemovedFromAvailable: true) }
    }

    private mutating func closeConnection(_ id: Int, reason: ConnectionClosedReason, _ out: inout Output, alreadyRemovedFromAvailable: Bool = false) {
        guard let connection = connections.removeValue(forKey: id) else { return }
        if !alreadyRemovedFromAvailable { available.removeAll { $0 == id } }
        if let serviceId = connection.serviceId, var entry = serviceGenerations[serviceId] {
            entry.count -= 1
            serviceGenerations[serviceId] = entry.count > 0 ? entry : nil
        }
        out.events.append(.connectionClosed(address, connectionId: id, reason: reason))
        out.actions.append(.close(connectionID: id))
    }

    private func isStale(_ connection: Connection) -> Bool {
        if loadBalanced, let serviceId = connection.serviceId {
            return connection.generation < (serviceGenerations[serviceId]?.generation ?? 0)
        }
        return connection.generation < generation
    }

    private func isIdle(_ connection: Connection, nowNS: UInt64) -> Bool {
        guard let maxIdle = options.maxIdleTime, case .available(let since) = connection.state else { return false }
        return nowNS &- since >= UInt64(max(0, maxIdle.inMilliseconds)) * 1_000_000
    }

    static func ms(_ nowNS: UInt64, since startNS: UInt64) -> Double {
        nowNS > startNS ? Double(nowNS - startNS) / 1e6 : 0
    }
}
