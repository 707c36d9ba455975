import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// The whole simulated deployment on its loop: the servers, the replica set's state, the data
/// stores and the election timer. Every control operation of `MongoSimulator` runs here, on the
/// loop thread.
///
/// Loop-confined.
final class SimulatorCore {
    let configuration: SimulatorConfiguration
    private let loop: MonitorLoop
    private let directory: SimulatorDirectory
    private let readBuffer = ReadBuffer()
    /// The servers' TLS context (one for the deployment), when it speaks TLS.
    private let tls: TLSContext?
    /// The deployment's users, their keys derived once for every server.
    private let users: UserDirectory
    private(set) var servers: [String: SimulatedServer] = [:]
    /// Addresses in the order the servers started.
    private(set) var order: [String] = []
    private(set) var replicaSet: ReplicaSetState?
    /// One store per replica set (key ""), or one per standalone / mongos (key: its address).
    private var stores: [String: DataStore] = [:]
    private var electionTimer: TimerWatcher?
    private var pendingElectionExcludes: String?
    /// The next port to bind; nil when the kernel chooses.
    private var nextPort: UInt16?
    private let processSeed = UInt32.random(in: 0...UInt32.max)
    private var processesStarted: UInt32 = 0

    init(loop: MonitorLoop, configuration: SimulatorConfiguration, directory: SimulatorDirectory, tls: TLSContext? = nil,
         users: UserDirectory = .none) {
        self.loop = loop
        self.tls = tls
        self.users = users
        self.configuration = configuration
        self.directory = directory
        nextPort = configuration.portBase == 0 ? nil : configuration.portBase
    }

    /// Binds and listens on every server; a replica set elects its first member.
    func start() throws(SimulatorError) {
        try configuration.validate()
        for _ in 0..<configuration.initialServerCount { _ = try makeServer() }
        if case .replicaSet(let name, _) = configuration.kind {
            var set = ReplicaSetState(name: name, members: order)
            try set.elect(order[0])
            replicaSet = set
        }
        publish()
    }

    // MARK: - Control

    func stepDown() throws(SimulatorError) {
        var set = try requireReplicaSet("stepDown")
        let old = try set.stepDown()
        replicaSet = set
        stateChanged()
        scheduleElection(excluding: old)
    }

    func elect(_ address: String) throws(SimulatorError) {
        var set = try requireReplicaSet("elect")
        let server = try self.server(address)
        guard server.behaviour != .down else { throw .serverDown(address) }
        cancelElection()
        try set.elect(address)
        replicaSet = set
        stateChanged()
    }

    /// Kills a server; a killed primary's set holds an election among the others.
    func kill(_ address: String) throws(SimulatorError) {
        let server = try self.server(address)
        do { try server.kill() } catch { throw .socket(error) }
        if var set = replicaSet, set.primary == address {
            try set.stepDown()
            replicaSet = set
            stateChanged()
            scheduleElection(excluding: address)
        }
    }

    func hang(_ address: String) throws(SimulatorError) {
        try server(address).hang()
    }

    /// Makes a server hostile; see `SimulatedServer.misbehave`.
    func misbehave(_ address: String, _ hostility: HostileBehaviour) throws(SimulatorError) {
        try server(address).misbehave(hostility)
    }

    /// Runs a `configureFailPoint` command on one server; see `SimulatedServer.configureFailPoint`.
    func configureFailPoint(_ address: String, _ command: BSONDocument) throws(SimulatorError) -> BSONDocument {
        try server(address).configureFailPoint(CommandRequest(command: command, database: "admin"))
    }

    func behaviour(of address: String) throws(SimulatorError) -> ServerBehaviour {
        try server(address).behaviour
    }

    /// Revives a killed or hung server; a set without a primary then holds an election.
    func revive(_ address: String) throws(SimulatorError) {
        let server = try self.server(address)
        let processId = try makeProcessId()
        do { try server.revive(processId: processId) } catch { throw .socket(error) }
        if let set = replicaSet, set.primary == nil, electionTimer?.isActive != true {
            scheduleElection(excluding: nil)
        }
    }

    /// Starts a new member (a secondary announced in every member's hosts) or a new mongos.
    func addMember() throws(SimulatorError) -> String {
        if configuration.kind == .standalone {
            throw .unsupported(operation: "add", kind: configuration.kind.label)
        }
        let server = try makeServer()
        if var set = replicaSet {
            try set.addMember(server.address)
            replicaSet = set
            stateChanged()
        }
        publish()
        return server.address
    }

    /// Shuts a member (or mongos) down for good and drops it from the set's hosts.
    func removeMember(_ address: String) throws(SimulatorError) {
        if configuration.kind == .standalone {
            throw .unsupported(operation: "remove", kind: configuration.kind.label)
        }
        let server = try self.server(address)
        if var set = replicaSet {
            let wasPrimary = set.primary == address
            try set.removeMember(address)
            replicaSet = set
            if wasPrimary { scheduleElection(excluding: nil) }
        }
        server.shutdown()
        servers[address] = nil
        order.removeAll { $0 == address }
        stores[address] = nil
        stateChanged()
        publish()
    }

    /// Closes every listener and connection and stops the election timer.
    func shutdown() {
        cancelElection()
        electionTimer = nil
        for server in servers.values { server.shutdown() }
        servers.removeAll()
        order.removeAll()
        publish()
    }

    /// One line: the kind, then each server's address, role and behaviour.
    func status() -> String {
        var parts: [String] = [configuration.kind.label]
        if let set = replicaSet {
            parts.append("\(set.name) setVersion \(set.setVersion) term \(set.term) primary \(set.primary ?? "none")")
        }
        let servers = order.compactMap { address -> String? in
            guard let server = self.servers[address] else { return nil }
            return "\(address)=\(role(of: server))/\(server.behaviour)"
        }
        parts.append("servers " + servers.joined(separator: ","))
        return parts.joined(separator: " ")
    }

    // MARK: - Answering

    private func role(of server: SimulatedServer) -> ServerRole {
        switch configuration.kind {
        case .standalone: .standalone
        case .mongos: .mongos
        case .replicaSet: replicaSet?.role(of: server.address) ?? .secondary
        }
    }

    private func respond(_ server: SimulatedServer, _ request: CommandRequest, connectionId: Int64) -> BSONDocument {
        let context = ServerContext(
            me: server.address, role: role(of: server), replicaSet: replicaSet,
            topologyVersion: configuration.topologyVersion ? server.topologyVersion : nil, connectionId: connectionId,
            serviceId: server.processId)
        let key = replicaSet == nil ? server.address : ""
        let now = Self.wallClockMilliseconds()
        var store = stores[key] ?? DataStore(seed: processSeed &+ UInt32(truncatingIfNeeded: key.hashValue), now: now)
        let reply = CommandHandler.reply(to: request, server: context, store: &store, now: now)
        stores[key] = store
        return reply
    }

    static func wallClockMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    // MARK: - Elections

    private func scheduleElection(excluding excluded: String?) {
        pendingElectionExcludes = excluded
        guard configuration.electionDelayMS > 0 else {
            holdElection()
            return
        }
        let timer = electionTimer ?? TimerWatcher(loop: loop) { [unowned self] in self.holdElection() }
        electionTimer = timer
        timer.start(after: Double(configuration.electionDelayMS) / 1000)
    }

    private func cancelElection() {
        electionTimer?.stop()
        pendingElectionExcludes = nil
    }

    /// Elects a member that is up and answering; none may be, and then the set waits for a
    /// revive.
    private func holdElection() {
        guard var set = replicaSet, set.primary == nil else { return }
        let candidate = set.electionCandidate(excluding: pendingElectionExcludes) { address in
            self.servers[address]?.behaviour == .normal
        }
        pendingElectionExcludes = nil
        guard let candidate, (try? set.elect(candidate)) != nil else { return }
        replicaSet = set
        stateChanged()
    }

    // MARK: - Helpers

    /// Every member's topologyVersion counter grows when the set's state changes, as a real
    /// server's does when its role or config changes; their held awaitable hellos are answered.
    private func stateChanged() {
        guard replicaSet != nil else { return }
        for server in servers.values { server.topologyChanged() }
    }

    /// A process id unique to this simulator run: its seed, a sequence number, and randomness.
    private func makeProcessId() throws(SimulatorError) -> BSONObjectID {
        processesStarted += 1
        var processBytes: [UInt8] = []
        for value in [processSeed, processesStarted, UInt32.random(in: 0...UInt32.max)] {
            withUnsafeBytes(of: value.bigEndian) { processBytes.append(contentsOf: $0) }
        }
        guard let processId = BSONObjectID(bytes: processBytes) else {
            throw .invalidConfiguration("a processId needs 12 bytes, made \(processBytes.count)")
        }
        return processId
    }

    private func makeServer() throws(SimulatorError) -> SimulatedServer {
        let port = nextPort ?? 0
        let processId = try makeProcessId()
        let server: SimulatedServer
        do {
            server = try SimulatedServer(
                loop: loop, port: port, processId: processId,
                reportsTopologyVersion: configuration.topologyVersion, readBuffer: readBuffer, tls: tls,
                allowPlaintext: configuration.allowPlaintext, hostName: configuration.hostName, users: users
            ) { [unowned self] server, request, connectionId in
                self.respond(server, request, connectionId: connectionId)
            }
            try server.start()
        } catch {
            throw .socket(error)
        }
        if let next = nextPort { nextPort = next == UInt16.max ? nil : next + 1 }
        servers[server.address] = server
        order.append(server.address)
        return server
    }

    private func server(_ address: String) throws(SimulatorError) -> SimulatedServer {
        guard let server = servers[address] else { throw .unknownServer(address) }
        return server
    }

    private func requireReplicaSet(_ operation: String) throws(SimulatorError) -> ReplicaSetState {
        guard let set = replicaSet else { throw .unsupported(operation: operation, kind: configuration.kind.label) }
        return set
    }

    private func publish() {
        directory.update(order.compactMap { address in servers[address].map { (address, $0.counters) } })
    }
}
