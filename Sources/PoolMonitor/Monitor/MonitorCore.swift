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
    let settings: TopologySettings
    let options: MonitorOptions
    /// Where host names are resolved.
    enum Resolution {
        /// Off the loop, on the process's bounded resolver (or a test's): the pooled mode.
        case bounded(BoundedResolver)
        /// On the loop thread, which is the caller's: a single-threaded client's.
        case onLoopThread(ResolvedNameCache)
    }

    let resolution: Resolution
    /// A single-threaded client's: its monitoring connections are its application
    /// connections too. Nil in the pooled mode, where monitoring connections are dedicated.
    let sharedConnections: SharedConnections?
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

    init(loop: MonitorLoop, topology: Topology, options: MonitorOptions, resolution: Resolution,
         sharedConnections: SharedConnections? = nil,
         usesTLS: Bool = false,
         connectionFactory: @escaping MonitorConnectionFactory = MonitorConnection.factory(tls: nil)) {
        self.usesTLS = usesTLS
        self.resolution = resolution
        self.sharedConnections = sharedConnections
        self.connectionFactory = connectionFactory
        loop.preconditionInLoop()
        self.loop = loop
        self.topology = topology
        settings = topology.settings
        self.options = options
        streamingEnabled = options.streamingEnabled(environment: ProcessEnvironment.variables)
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
        try connectionFactory(loop, server, address, scratch, onEvent)
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
        perform(topology.apply(description, checkFailed: checkFailed, interruptInUseConnections: interruptInUseConnections,
                               cancellationsAtStart: cancellationsAtStart))
    }

    /// Carries out monitor actions, in order.
    func perform(_ actions: [SDAMAction]) {
        guard !closed else { return }
        for action in actions {
            switch action {
            case .startMonitoring(let address):
                guard monitors[address] == nil else { continue }
                let monitor = ServerMonitor(address: address, loop: loop, context: self)
                monitors[address] = monitor
                monitor.start()
            case .stopMonitoring(let address):
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
    }

    /// Stops every monitor and closes every socket.
    func stopAll() {
        closed = true
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
