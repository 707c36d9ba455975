import MongoBSON
import SDAMCore
import MongoWire

/// The loop-confined half of a `TopologyMonitor`: the monitors of every server, and what they
/// share (settings, the topology, the read buffer, request ids). It carries out the topology's
/// monitor actions: a server added starts its first check in the same loop turn; a server
/// removed has its watchers stopped and its socket closed in the same turn.
final class MonitorCore {
    let loop: MonitorLoop
    let topology: Topology
    let options: MonitorOptions
    /// Where host names are resolved.
    enum Resolution {
        /// Off the loop, on the process's bounded resolver (nil; read at the first lookup, so a
        /// seed list of IP literals never makes it) or a test's: the pooled mode.
        case bounded(BoundedResolver?)
        /// On the loop thread, which is the caller's: a single-threaded client's.
        case onLoopThread(ResolvedNameCache)
    }

    let resolution: Resolution
    /// A single-threaded client's: its monitoring connections are its application
    /// connections too. Nil in the pooled mode, where monitoring connections are dedicated.
    let sharedConnections: SharedConnections?
    /// Reads a `mongodb+srv://` topology's records; nil for a seed list given in the URI.
    private(set) var srvMonitor: SRVMonitor?
    /// Opens monitoring connections: non-blocking TCP, with TLS when the pool asks for it, or a
    /// test's own.
    let connectionFactory: MonitorConnectionFactory
    let scratch = ReadScratch()
    /// Decided once per monitor from `serverMonitoringMode` and the environment.
    let streamingEnabled: Bool
    /// Whether the connections use TLS (for the words of a connect timeout).
    let usesTLS: Bool
    private var monitors: [ServerAddress: ServerMonitor] = [:]
    private var lastRequestID: Int32 = 0
    private var closed = false
    /// New servers whose first check waits for a hinted primary's (`startMonitoring(_:)`).
    private var deferredStarts: [ServerAddress] = []
    /// The hinted primaries those wait for.
    private var hintedPrimaries: Set<ServerAddress> = []
    private lazy var deferredStartTimer = TimerWatcher(loop: loop) { [unowned self] in self.startDeferred() }
    /// The highest descriptor a monitoring socket got, or the table was grown to hold, for
    /// `descriptorTableWouldGrow(by:)`.
    private var highestDescriptor: Int32 = 0

    init(loop: MonitorLoop, topology: Topology, options: MonitorOptions, resolution: Resolution,
         sharedConnections: SharedConnections? = nil,
         usesTLS: Bool = false,
         connectionFactory: @escaping MonitorConnectionFactory = MonitorConnection.factory(tls: nil),
         plainHandshake: PlainHandshake? = nil) {
        self.plainHandshake = plainHandshake ?? PlainHandshake(appName: options.appName)
        self.usesTLS = usesTLS
        self.resolution = resolution
        self.sharedConnections = sharedConnections
        self.connectionFactory = connectionFactory
        loop.preconditionInLoop()
        self.loop = loop
        self.topology = topology
        self.options = options
        streamingEnabled = options.streamingEnabled(environment: ProcessEnvironment.variables)
    }

    /// The topology's settings now (a `mongodb+srv://` topology's are completed by DNS).
    var settings: TopologySettings { topology.settings }

    /// Starts reading the records of a `mongodb+srv://` topology that awaits its seeds (the
    /// lookups run off the loop); nothing for other topologies.
    /// `records` nil: the process's shared resolver, made only for a `mongodb+srv://` topology.
    func startSeedlistDiscovery(records: RecordResolver?, accept: @escaping SeedlistAcceptor) {
        let settings = self.settings
        guard !closed, srvMonitor == nil, settings.awaitsSeedlist, let seedlist = settings.srv else { return }
        let monitor = SRVMonitor(loop: loop, context: self, seedlist: seedlist, records: records ?? .shared, accept: accept)
        srvMonitor = monitor
        monitor.start()
    }

    /// A Sendable handle to come back to this core from another thread (name resolution).
    func handle() -> LoopBound<MonitorCore> {
        LoopBound(self, loop: loop)
    }

    func monitor(for address: ServerAddress) -> ServerMonitor? {
        closed ? nil : monitors[address]
    }

    var monitoredAddresses: [ServerAddress] { Array(monitors.keys) }

    /// Opens a monitoring connection to one resolved address of `server` (loop thread).
    func openConnection(
        server: ServerAddress, address: ResolvedAddress, onEvent: @escaping (MonitorConnection.Event) -> Void
    ) throws(StreamError) -> MonitorConnection {
        let connection = try connectionFactory(loop, server, address, scratch, onEvent)
        highestDescriptor = max(highestDescriptor, connection.descriptor)
        return connection
    }

    /// The handshake a monitoring connection sends when it does not authenticate.
    private let plainHandshake: PlainHandshake

    /// The plain handshake's bytes with `requestID`; nil if it could not be encoded.
    func plainHandshakeBytes(requestID: Int32) -> [UInt8]? {
        plainHandshake.bytes(loadBalanced: settings.loadBalanced).flatMap { WireMessage.replacingRequestID(in: $0, with: requestID) }
    }

    /// Request ids are unique per loop, which makes them unique per connection too.
    func nextRequestID() -> Int32 {
        lastRequestID = lastRequestID == Int32.max ? 1 : lastRequestID + 1
        return lastRequestID
    }

    func publish(_ event: MonitoringEvent) {
        topology.publish([event])
    }

    /// Applies a check's outcome and carries out the actions it produced.
    func apply(_ description: ServerDescription, checkFailed: Bool = false, interruptInUseConnections: Bool = false, cancellationsAtStart: UInt64? = nil) {
        DiscoveryTrace.mark("core: description made", description.address)
        topology.apply(description, checkFailed: checkFailed, interruptInUseConnections: interruptInUseConnections,
                       cancellationsAtStart: cancellationsAtStart, act: { [self] in perform($0) })
        if hintedPrimaries.contains(description.address) { startDeferred() }
    }

    /// Carries out monitor actions, in order.
    ///
    /// Starts and stops follow the topology as it is now, not as it was when the action was
    /// made: actions an application thread's transition forwards (an application handshake
    /// that named a new member) come through the loop's inbox, after transitions the loop made
    /// meanwhile. A forwarded start of a server a later check removed would leave an orphan
    /// monitor (publishing heartbeats after its ServerClosed), a forwarded stop of a server a
    /// later check added again would leave it unmonitored for good. So a server is started only
    /// while the topology has it and stopped only once it has not.
    func perform(_ actions: [SDAMAction]) {
        guard !closed else { return }
        var starts: [ServerAddress] = []
        lazy var servers = topology.description.servers
        for action in actions {
            switch action {
            case .startMonitoring(let address):
                if monitors[address] == nil, servers[address] != nil { starts.append(address) }
            case .stopMonitoring(let address):
                guard servers[address] == nil else { continue }
                if let i = starts.firstIndex(of: address) { starts.remove(at: i) }
                deferredStarts.removeAll { $0 == address }
                monitors.removeValue(forKey: address)?.stop()
            case .requestImmediateCheck(let address):
                monitors[address]?.requestImmediateCheck()
            case .cancelCheck(let address):
                monitors[address]?.cancelCheck()
            case .clearPool, .markPoolReady:
                // Pools read the generation the topology keeps; nothing for the loop to do.
                continue
            }
        }
        if !starts.isEmpty { startMonitoring(starts, in: servers) }
    }

    /// Starts the first checks of new servers in the loop turn they joined — except when a
    /// reply named a primary among many new members and opening all their sockets at once
    /// would grow the process's descriptor table. Growing it waits for an RCU grace period in
    /// the kernel (about 10–15 ms measured here) whenever the process has more than one
    /// thread, and the loop would take that wait before it could read the primary's reply.
    /// Then the hinted primary (PossiblePrimary) is checked first and the others start when
    /// its check ends, or after 2 ms, whichever comes first: the Perl driver's primary hint,
    /// for the same reason — the primary's connect must not wait behind the others'. When they
    /// all start in the turn, the hinted primary's connect still goes first: each connect is a
    /// syscall of about 0.05 ms on loopback (the kernel runs the handshake inside it), so the
    /// sixth of seven members' would leave 0.25 ms after the first (issue 17).
    ///
    /// A batch whose sockets would grow the table more than once (a long seed list) has it
    /// grown once first, to the size the batch needs (`DescriptorTable`).
    /// - Parameter servers: the topology's servers as `perform` read them.
    private func startMonitoring(_ addresses: [ServerAddress], in servers: ServerMap) {
        let (now, later) = Self.firstChecks(of: addresses, types: { servers[$0]?.type }, highestDescriptor: highestDescriptor)
        if DescriptorTable.growths(highestDescriptor: highestDescriptor, opening: now.count) > 1,
           let reserved = DescriptorTable.reserve(upTo: highestDescriptor + Int32(clamping: now.count) + Self.descriptorSlack) {
            highestDescriptor = max(highestDescriptor, reserved)
        }
        now.forEach(startMonitor)
        guard !later.isEmpty else { return }
        hintedPrimaries.formUnion(now)
        deferredStarts += later
        deferredStartTimer.start(after: 0.002)
    }

    /// Which new servers to check now and which after the hinted primary (`startMonitoring`).
    static func firstChecks(
        of addresses: [ServerAddress], types: (ServerAddress) -> ServerType?, highestDescriptor: Int32
    ) -> (now: [ServerAddress], later: [ServerAddress]) {
        let hinted = addresses.filter { types($0) == .possiblePrimary }
        guard !hinted.isEmpty, hinted.count < addresses.count else { return (addresses, []) }
        let others = addresses.filter { types($0) != .possiblePrimary }
        guard descriptorTableWouldGrow(highestDescriptor: highestDescriptor + hintMargin, by: addresses.count) else {
            return (hinted + others, [])
        }
        return (hinted, others)
    }

    private func startMonitor(_ address: ServerAddress) {
        guard !closed, monitors[address] == nil else { return }
        DiscoveryTrace.mark("core: check starts", address)
        let monitor = ServerMonitor(address: address, loop: loop, context: self)
        monitors[address] = monitor
        monitor.start()
    }

    /// Starts the checks that waited for a hinted primary.
    private func startDeferred() {
        deferredStartTimer.stop()
        hintedPrimaries.removeAll()
        let waiting = deferredStarts
        deferredStarts.removeAll()
        let servers = topology.description.servers
        for address in waiting where servers[address] != nil { startMonitor(address) }
    }

    /// Whether `count` more sockets would take descriptors past the table the kernel holds for
    /// the process; its size is estimated from the highest descriptor seen (a table holds at
    /// least that many) or reserved.
    static func descriptorTableWouldGrow(highestDescriptor: Int32, by count: Int) -> Bool {
        DescriptorTable.growths(highestDescriptor: highestDescriptor, opening: count) > 0
    }

    /// Descriptors reserved beyond a batch's sockets: the process's other files (a log, a
    /// pool's connections) open while the batch's checks run.
    static let descriptorSlack: Int32 = 64

    /// How far below the estimated end of the table a batch counts as growing it, for the
    /// primary hint: the estimate knows only the monitor's own sockets, and the process opens
    /// others meanwhile (the event thread's, a pool's). Without it, a process that started
    /// with descriptors 0–2 only (as a Python parent leaves them) predicted 49 sockets after
    /// descriptor 12 to fit in 64, and took the growth, 15–30 ms, before the primary's reply.
    static let hintMargin: Int32 = 16

    /// Stops every monitor and closes every socket.
    func stopAll() {
        closed = true
        srvMonitor?.stop()
        srvMonitor = nil
        deferredStartTimer.stop()
        deferredStarts.removeAll()
        for monitor in monitors.values { monitor.stop() }
        monitors.removeAll()
    }
}

extension LoopBound where Value == MonitorCore? {
    /// How both monitors close: every monitor stopped and every socket closed on the loop, the
    /// loop shut down (its thread joined, if it has one), then the topology closed.
    func closeMonitoring(of topology: Topology) {
        loop.execute { [self] in
            value?.stopAll()
            value = nil
        }
        loop.shutdown()
        topology.setMonitorSink(nil)
        topology.close()
    }
}
