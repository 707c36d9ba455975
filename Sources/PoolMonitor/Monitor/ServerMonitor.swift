import MongoBSON
import SDAMCore
import MongoWire

/// Monitors one server on the loop by carrying out what its pure `ServerCheckCycle` decides:
/// it feeds the cycle the clock, the resolver's answers, the socket's events and the timers'
/// fires, and does the I/O the returned actions ask for. The rules (when to check, which
/// address next, poll or stream, the one retry, RTT) live in the cycle, where tests drive
/// them by hand.
///
/// Loop-confined.
final class ServerMonitor {
    let address: ServerAddress
    private let loop: MonitorLoop
    private unowned let context: MonitorCore
    private var cycle: ServerCheckCycle<ResolvedAddress>
    private var connection: MonitorConnection?
    /// Measures RTT on its own connection while this monitor streams; created on first use.
    private var rttMonitor: RTTMonitor?
    private lazy var scheduleTimer = TimerWatcher(loop: loop) { [unowned self] in
        self.perform(self.cycle.scheduleTimerFired(at: MonotonicClock.nanoseconds()))
    }
    private lazy var timeoutTimer = TimerWatcher(loop: loop) { [unowned self] in
        self.perform(self.cycle.timeoutTimerFired(at: MonotonicClock.nanoseconds()))
    }
    private let actions = ActionQueue<ServerCheckCycle<ResolvedAddress>.Action>()
    /// The server's type in the topology when the current check started.
    private var typeAtCheckStart: ServerType = .unknown
    /// Single-threaded mode: the open connection as the application sees it, from its
    /// handshake reply on; nil before and in the pooled mode.
    private var shared: SharedConnectionInfo?
    /// Single-threaded mode: the handshake went out on a new connection and its reply is due;
    /// what it carried and the generation the connection belongs to.
    private var handshakeInFlight: (generation: Int, handshake: SharedHandshake?)?
    /// Single-threaded mode: an application message is out on the connection; its reply (or
    /// the connection's failure) goes here, not to the cycle.
    private var applicationRequest: ((SharedRoundTrip) -> Void)?

    init(address: ServerAddress, loop: MonitorLoop, context: MonitorCore) {
        self.address = address
        self.loop = loop
        self.context = context
        let singleThreaded = context.sharedConnections != nil
        cycle = ServerCheckCycle(server: address, configuration: .init(
            // A single-threaded client's scans decide when servers are checked: its monitors
            // check only when asked (a scan, a connection found closed, the one retry).
            heartbeatFrequencyMS: singleThreaded ? ServerCheckCycle<ResolvedAddress>.maxHeartbeatFrequencyMS
                : Int64(context.settings.heartbeatFrequencyMS),
            connectTimeoutMS: Int64(context.options.connectTimeoutMS),
            streamingEnabled: context.streamingEnabled, usesTLS: context.usesTLS,
            retriesAfterTimeout: !singleThreaded))
    }

    // MARK: - Inputs from the monitor

    func start() {
        perform(cycle.start())
    }

    func requestImmediateCheck() {
        perform(cycle.immediateCheckRequested(at: MonotonicClock.nanoseconds()))
    }

    /// An application connection saw a network error: see `ServerCheckCycle.cancel`.
    func cancelCheck() {
        perform(cycle.cancel(at: MonotonicClock.nanoseconds()))
    }

    /// The server left the topology or the pool is closing: stop everything in this loop turn.
    func stop() {
        perform(cycle.stop(at: MonotonicClock.nanoseconds()))
    }

    var hasOpenConnection: Bool { connection.map { !$0.isClosed } ?? false }

    /// For tests and diagnostics: an awaited (streaming) check is in flight.
    var isStreaming: Bool { cycle.isStreaming }
    var rttSamples: Int { rttMonitor?.samplesTaken ?? 0 }

    // MARK: - What a single-threaded client's scan reads

    var checksCompleted: Int { cycle.checksCompleted }
    var isCheckInFlight: Bool { cycle.isCheckInFlight }
    var lastCheckOutcome: ServerCheckCycle<ResolvedAddress>.CheckOutcome? { cycle.lastCheckOutcome }
    var lastCheckEndedAt: UInt64? { cycle.lastCheckEndedAt }

    // MARK: - The application's use of the connection (single-threaded mode)

    /// The open connection, when no check and no other application message is using it.
    var sharedConnection: SharedConnectionInfo? {
        guard !cycle.isCheckInFlight, applicationRequest == nil, hasOpenConnection else { return nil }
        return shared
    }

    /// The application finished authenticating the connection.
    func markAuthenticated() {
        shared?.authenticated = true
    }

    /// Sends an application message on the open connection; its reply, or the connection's
    /// failure, goes to `completion` (on this loop) instead of the check cycle.
    /// - Returns: false when there is no connection the application may use now.
    func sendApplicationMessage(_ bytes: [UInt8], requestID: Int32, completion: @escaping (SharedRoundTrip) -> Void) -> Bool {
        guard sharedConnection != nil, let connection else { return false }
        applicationRequest = completion
        shared?.lastUsedNS = MonotonicClock.nanoseconds()
        connection.send(bytes, requestID: requestID)
        return true
    }

    /// Closes the connection for the application (its reply did not come in time): the next
    /// check connects anew.
    func abandonConnection() {
        applicationRequest = nil
        perform(cycle.cancel(at: MonotonicClock.nanoseconds()))
    }

    // MARK: - Carrying out actions

    private func perform(_ decided: [ServerCheckCycle<ResolvedAddress>.Action]) {
        actions.run(decided) { execute($0) }
    }

    private func execute(_ action: ServerCheckCycle<ResolvedAddress>.Action) {
        switch action {
        case .startCheck:
            if let shared, shared.generation < context.topology.poolGeneration(for: address) ?? 0 {
                // The server's pool was cleared since this connection was made (a "node is
                // shutting down" error, say): like a pooled connection, it is not used again.
                perform(cycle.cancel(at: MonotonicClock.nanoseconds()))
            }
            let start = context.topology.checkStart(for: address)
            typeAtCheckStart = start.type
            perform(cycle.beginCheck(serverType: start.type, cancellations: start.cancellations, at: MonotonicClock.nanoseconds()))
        case .resolve:
            resolve()
        case .connect(let target):
            connect(to: target)
        case .sendHandshake:
            DiscoveryTrace.mark("monitor: handshake to build", address)
            let authentication = context.sharedConnections?.handshake?(address)
            if context.sharedConnections != nil {
                handshakeInFlight = (context.topology.poolGeneration(for: address) ?? 0, authentication)
            }
            let requestID = context.nextRequestID()
            if authentication == nil, let bytes = context.plainHandshakeBytes(requestID: requestID) {
                connection?.send(bytes, requestID: requestID)
            } else {
                connection?.send(Handshake.handshakeMessage(
                    requestID: requestID, appName: context.options.appName, loadBalanced: context.settings.loadBalanced,
                    saslSupportedMechs: authentication?.saslSupportedMechs, speculativeAuthenticate: authentication?.speculativeAuthenticate))
            }
        case .sendHello(let useHello):
            shared?.helloSinceHandshake = true
            shared?.lastUsedNS = MonotonicClock.nanoseconds()
            connection?.send(Handshake.checkMessage(requestID: context.nextRequestID(), useHello: useHello))
        case .sendAwaitableHello(let useHello, let topologyVersion, let maxAwaitTimeMS):
            connection?.send(Handshake.awaitableHelloMessage(
                requestID: context.nextRequestID(), useHello: useHello, topologyVersion: topologyVersion, maxAwaitTimeMS: maxAwaitTimeMS))
        case .expectNextExhaustReply:
            // Nothing to send; the connection already expects the reply that answers the last
            // one (set when it arrived, see `connectionEvent`).
            break
        case .armScheduleTimer(let at):
            scheduleTimer.start(at: at, slackSeconds: 0.000_5)
        case .stopScheduleTimer:
            scheduleTimer.stop()
        case .armTimeoutTimer(let at):
            timeoutTimer.start(at: at)
        case .stopTimeoutTimer:
            timeoutTimer.stop()
        case .closeConnection:
            connection?.close()
            connection = nil
            shared = nil
            handshakeInFlight = nil
            if let request = applicationRequest {
                applicationRequest = nil
                request(.failed(reason: "the connection to \(address) was closed"))
            }
        case .applyDescription(let description, let checkFailed, let interrupt, let cancellations):
            prioritize(as: description.type)
            if checkFailed, case .onLoopThread(let names) = context.resolution { names.forget(address) }
            context.apply(description, checkFailed: checkFailed, interruptInUseConnections: interrupt, cancellationsAtStart: cancellations)
        case .publishHeartbeatStarted(let awaited):
            context.publish(.serverHeartbeatStarted(address, awaited: awaited))
        case .publishHeartbeatSucceeded(let durationMS, let reply, let awaited):
            context.publish(.serverHeartbeatSucceeded(address, durationMS: durationMS, reply: reply, awaited: awaited))
        case .publishHeartbeatFailed(let durationMS, let error, let awaited):
            context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: error, awaited: awaited))
        case .startRTTMeasurement:
            startRTTMonitor()
        case .stopRTTMeasurement:
            rttMonitor?.stop()
        }
    }

    // MARK: - Name resolution and connections

    private func resolve() {
        if let literal = NameResolver.literal(host: address.host, port: address.port) {
            perform(cycle.addressesResolved(literal, at: MonotonicClock.nanoseconds()))
            return
        }
        let resolver: BoundedResolver
        switch context.resolution {
        case .onLoopThread(let names):
            // The caller's thread is the loop: the lookup runs on it, beside the other checks.
            let server = address
            let core = context.handle()
            names.addresses(host: server.host, port: server.port) { result in
                core.value.monitor(for: server)?.resolved(result)
            }
            return
        case .bounded(let bounded):
            resolver = bounded ?? .shared
        }
        // getaddrinfo blocks: it runs off the loop, and the result comes back through the inbox.
        let server = address
        let core = context.handle()
        resolver.resolve(host: server.host, port: server.port) { result in
            core.loop.execute {
                core.value.monitor(for: server)?.resolved(result)
            }
        }
    }

    private func resolved(_ result: Result<[ResolvedAddress], NameResolver.ResolutionError>) {
        let now = MonotonicClock.nanoseconds()
        switch result {
        case .success(let addresses): perform(cycle.addressesResolved(addresses, at: now))
        case .failure(let error): perform(cycle.resolutionFailed(error.description, at: now))
        }
    }

    private func connect(to target: ResolvedAddress) {
        connection?.close()
        do {
            let opened = try context.openConnection(server: address, address: target) { [unowned self] event in
                self.connectionEvent(event)
            }
            connection = opened
            prioritize(as: typeAtCheckStart)
            if opened.isConnected { perform(cycle.connected(at: MonotonicClock.nanoseconds())) }
        } catch {
            connection = nil
            perform(cycle.connectionFailed(.connectFailed(error.description), at: MonotonicClock.nanoseconds()))
        }
    }

    /// A (possible) primary's replies are read before the others' that are ready in the same
    /// loop turn: libev runs a turn's ready watchers of one priority in the reverse of the order
    /// epoll reported them, so of seven new members whose replies were all in, the primary's
    /// (connected first) was applied last, 0.3 ms after it came (issue 17). Writes wait for the
    /// primary. Set when a check connects, and again as each reply changes the server's type (a
    /// streaming connection of a primary that stepped down, of a secondary that was elected).
    private func prioritize(as type: ServerType) {
        connection?.handlesEventsFirst = type == .possiblePrimary || type == .rsPrimary
    }

    private func connectionEvent(_ event: MonitorConnection.Event) {
        let now = MonotonicClock.nanoseconds()
        if let request = applicationRequest {
            switch event {
            case .connected:
                return
            case .message(let message):
                applicationRequest = nil
                shared?.lastUsedNS = now
                request(.reply(message))
            case .closedByPeer(let reason), .failed(let reason):
                // The application reports the error to the topology; the cycle learns now that
                // the connection is gone, so that no check starts on it meanwhile.
                applicationRequest = nil
                perform(cycle.cancel(at: now))
                request(.failed(reason: reason))
            }
            return
        }
        switch event {
        case .connected:
            perform(cycle.connected(at: now))
        case .message(let message):
            let moreToCome = message.opMsg?.flags.contains(.moreToCome) == true
            // The server's next exhaust reply answers this one.
            if moreToCome { connection?.expectResponse(to: message.requestID) }
            do {
                let document = try Handshake.replyDocument(of: message, from: address)
                if let handshake = handshakeInFlight {
                    handshakeInFlight = nil
                    shared = SharedConnectionInfo(
                        generation: handshake.generation, handshakeReply: document, handshake: handshake.handshake,
                        authenticated: handshake.handshake == nil, helloSinceHandshake: false, lastUsedNS: now)
                } else {
                    shared?.lastUsedNS = now
                }
                perform(cycle.replyReceived(.init(document: document, moreToCome: moreToCome), at: now))
            } catch {
                perform(cycle.connectionFailed(.ioFailed(error.description), at: now))
            }
        case .closedByPeer(let reason):
            perform(cycle.connectionFailed(.closedByPeer(reason), at: now))
        case .failed(let reason):
            perform(cycle.connectionFailed(.ioFailed(reason), at: now))
        }
    }

    private func startRTTMonitor() {
        if rttMonitor == nil {
            rttMonitor = RTTMonitor(
                server: address, loop: loop, context: context,
                target: { [unowned self] in self.cycle.connectedAddress },
                onSample: { [unowned self] sample in self.cycle.roundTripTimeMeasured(sample) }
            )
        }
        rttMonitor?.start()
    }
}
