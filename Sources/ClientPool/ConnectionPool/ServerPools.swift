import Dispatch
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// The connection pools of one `ClientPool`, one per server, shared by all its clients; and
/// the executor of the topology's pool commands: a server that joins gets a pool (paused), a
/// successful check marks it ready, a failed check or an application error clears it (with
/// interruptInUseConnections when a monitor's check timed out), a server that leaves has its
/// pool closed and its connections with it.
final class ServerPools: Sendable {
    private let topology: Topology
    /// The pool's settings and security, read when a server's pool is made (a `mongodb+srv://`
    /// pool's are complete by the time its first server joins).
    private let configuration: PoolConfiguration
    private let events: EventPublisher
    private let pools = ConditionLock<State>(State())
    /// The periodic background runs (they only take locks and queue work).
    private let runs = DispatchQueue(label: "sdam.pool.runs")

    private struct State {
        var byServer: [ServerAddress: ServerConnectionPool<ServerConnection>] = [:]
        var closed = false
        var runsScheduled = false
    }

    convenience init(topology: Topology, settings: ClientSettings, security: ConnectionSecurity = .plaintext, events: EventPublisher) {
        self.init(topology: topology, configuration: PoolConfiguration(settings: settings, security: security), events: events)
    }

    init(topology: Topology, configuration: PoolConfiguration, events: EventPublisher) {
        self.topology = topology
        self.configuration = configuration
        self.events = events
    }

    /// Carries out the topology's pool commands, in order.
    func handle(_ commands: [Topology.PoolCommand]) {
        for command in commands {
            switch command.action {
            case .startMonitoring(let address):
                _ = pool(for: address)
            case .stopMonitoring(let address):
                let removed = pools.withLock { $0.byServer.removeValue(forKey: address) }
                removed?.close()
            case .clearPool(let address, let serviceId):
                pool(for: address, createdBy: .clear)?.clear(
                    interruptInUseConnections: command.interruptInUseConnections, serviceId: serviceId, reason: command.reason)
            case .markPoolReady(let address):
                pool(for: address)?.ready()
            case .requestImmediateCheck, .cancelCheck:
                continue
            }
        }
    }

    private enum Creator { case command, clear, checkOut }

    /// The server's pool, created if it has none yet (nil once closed).
    ///
    /// A pool made at check-out (the server's join came before this registry existed) starts
    /// ready when the topology already knows the server: the successful check that would have
    /// marked it ready has passed. Its generation starts at the topology's count of clears for
    /// the server, so that SDAM and the pool agree on which connections are stale.
    func pool(for address: ServerAddress) -> ServerConnectionPool<ServerConnection>? {
        pool(for: address, createdBy: .command)
    }

    func poolForCheckOut(_ address: ServerAddress) -> ServerConnectionPool<ServerConnection>? {
        pool(for: address, createdBy: .checkOut)
    }

    private func pool(for address: ServerAddress, createdBy creator: Creator) -> ServerConnectionPool<ServerConnection>? {
        if let existing = pools.withLock({ $0.closed ? nil : $0.byServer[address] }) { return existing }
        let generation = topology.poolGeneration(for: address) ?? 0
        // Made under the registry's lock (no I/O: it only queues its created event), so that
        // two threads never both create and announce a pool for one server.
        let (pool, created) = pools.withLock { s -> (ServerConnectionPool<ServerConnection>?, Bool) in
            if s.closed { return (nil, false) }
            if let existing = s.byServer[address] { return (existing, false) }
            let made = makePool(address, generation: generation)
            s.byServer[address] = made
            return (made, true)
        }
        guard let pool else { return nil }
        if created, creator == .checkOut, let server = topology.description.servers[address], server.type != .unknown {
            pool.ready()
        }
        if created { scheduleBackgroundRuns() }
        return pool
    }

    private func makePool(_ address: ServerAddress, generation: Int) -> ServerConnectionPool<ServerConnection> {
        let settings = configuration.settings
        let security = configuration.security
        let events = self.events
        let topology = self.topology
        return ServerConnectionPool<ServerConnection>(
            address: address,
            options: settings.connectionPool,
            loadBalanced: settings.topology.loadBalanced,
            generation: generation,
            establish: { generation, canceller throws(ConnectionError) in
                let connection = try ServerConnection.establish(
                    to: address, generation: generation, settings: settings, security: security, canceller: canceller)
                // The handshake's reply is as good as a check's (SDAM: application handshakes
                // SHOULD update the server's description).
                topology.applyApplicationHandshake(connection.helloReply, from: address)
                return connection
            },
            establishAsync: { generation, canceller, readiness in
                let connection = try await ServerConnection.establish(
                    to: address, generation: generation, settings: settings, security: security, canceller: canceller, readiness: readiness)
                topology.applyApplicationHandshake(connection.helloReply, from: address)
                return connection
            },
            publish: { poolEvents in events.publish(poolEvents.map(MonitoringEvent.pool)) },
            // Establishing blocks (TCP, handshake): on the driver's own worker threads, never
            // on Dispatch's shared pool, which the application's work may be holding.
            background: { work in WorkerThreads.shared.submit(work) },
            onEstablishmentFailure: { error, generation in
                // SDAM's error handling for a connection that could not be established.
                let maxWireVersion = topology.description.servers[address]?.maxWireVersion ?? 0
                if let applicationError = error.applicationError(generation: generation, maxWireVersion: maxWireVersion) {
                    topology.handle(applicationError)
                }
            }
        )
    }

    /// Background runs (idle connections closed, minPoolSize populated) every 100 ms while
    /// either option asks for them; none otherwise.
    private func scheduleBackgroundRuns() {
        let options = configuration.settings.connectionPool
        guard options.minPoolSize > 0 || options.maxIdleTime != nil else { return }
        let start = pools.withLock { s -> Bool in
            guard !s.runsScheduled, !s.closed else { return false }
            s.runsScheduled = true
            return true
        }
        if start { scheduleRun() }
    }

    private func scheduleRun() {
        runs.asyncAfter(deadline: .now() + .milliseconds(100)) { [weak self] in
            guard let self else { return }
            let current = pools.withLock { $0.closed ? nil : Array($0.byServer.values) }
            guard let current else { return }
            for pool in current { pool.backgroundRun() }
            scheduleRun()
        }
    }

    /// Closes every pool: waiters fail, available connections close, connections in use are
    /// interrupted (their operations fail at once).
    func closeAll() {
        let all = pools.withLock { s -> [ServerConnectionPool<ServerConnection>] in
            s.closed = true
            defer { s.byServer.removeAll() }
            return Array(s.byServer.values)
        }
        for pool in all { pool.close() }
    }

    /// Connections per server (total), for tests and diagnostics.
    var connectionCounts: [ServerAddress: Int] {
        let all = pools.withLock { $0.byServer }
        return all.mapValues { $0.counts.total }
    }
}
