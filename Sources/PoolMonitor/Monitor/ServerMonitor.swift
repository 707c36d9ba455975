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

    init(address: ServerAddress, loop: MonitorLoop, context: MonitorCore) {
        self.address = address
        self.loop = loop
        self.context = context
        cycle = ServerCheckCycle(server: address, configuration: .init(
            heartbeatFrequencyMS: Int64(context.settings.heartbeatFrequencyMS),
            connectTimeoutMS: Int64(context.options.connectTimeoutMS),
            streamingEnabled: context.streamingEnabled, usesTLS: context.usesTLS))
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

    // MARK: - Carrying out actions

    private func perform(_ decided: [ServerCheckCycle<ResolvedAddress>.Action]) {
        actions.run(decided) { execute($0) }
    }

    private func execute(_ action: ServerCheckCycle<ResolvedAddress>.Action) {
        switch action {
        case .startCheck:
            let start = context.topology.checkStart(for: address)
            perform(cycle.beginCheck(serverType: start.type, cancellations: start.cancellations, at: MonotonicClock.nanoseconds()))
        case .resolve:
            resolve()
        case .connect(let target):
            connect(to: target)
        case .sendHandshake:
            connection?.send(Handshake.handshakeMessage(
                requestID: context.nextRequestID(), appName: context.options.appName, loadBalanced: context.settings.loadBalanced))
        case .sendHello(let useHello):
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
        case .applyDescription(let description, let checkFailed, let interrupt, let cancellations):
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
        // getaddrinfo blocks: it runs off the loop, and the result comes back through the inbox.
        let server = address
        let core = context.handle()
        context.resolver.resolve(host: server.host, port: server.port) { result in
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
            if opened.isConnected { perform(cycle.connected(at: MonotonicClock.nanoseconds())) }
        } catch {
            connection = nil
            perform(cycle.connectionFailed(.connectFailed(error.description), at: MonotonicClock.nanoseconds()))
        }
    }

    private func connectionEvent(_ event: MonitorConnection.Event) {
        let now = MonotonicClock.nanoseconds()
        switch event {
        case .connected:
            perform(cycle.connected(at: now))
        case .message(let message):
            let moreToCome = message.opMsg?.flags.contains(.moreToCome) == true
            // The server's next exhaust reply answers this one.
            if moreToCome { connection?.expectResponse(to: message.requestID) }
            do {
                let document = try Handshake.replyDocument(of: message, from: address)
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
