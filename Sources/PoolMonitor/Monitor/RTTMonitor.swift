import MongoBSON
import SDAMCore
import MongoWire

/// Measures one server's round-trip time while its monitor streams, on a dedicated
/// connection on the same loop, by carrying out what its pure `RoundTripTimeMeasurement`
/// decides. It feeds samples to its owner and never changes the topology or publishes events
/// (server-monitoring spec, "Measuring RTT").
///
/// Loop-confined.
final class RTTMonitor {
    private let server: ServerAddress
    private let loop: MonitorLoop
    private unowned let context: MonitorCore
    private let onSample: (Double) -> Void
    /// Where to connect: the address the server's monitor is connected to.
    private let target: () -> ResolvedAddress?
    private var measurement: RoundTripTimeMeasurement
    private var connection: MonitorConnection?
    private let actions = ActionQueue<RoundTripTimeMeasurement.Action>()
    private lazy var tickTimer = TimerWatcher(loop: loop) { [unowned self] in
        self.perform(self.measurement.tickTimerFired(at: MonotonicClock.nanoseconds()))
    }
    private lazy var timeoutTimer = TimerWatcher(loop: loop) { [unowned self] in
        self.perform(self.measurement.timeoutTimerFired(at: MonotonicClock.nanoseconds()))
    }

    init(server: ServerAddress, loop: MonitorLoop, context: MonitorCore, target: @escaping () -> ResolvedAddress?, onSample: @escaping (Double) -> Void) {
        self.server = server
        self.loop = loop
        self.context = context
        self.target = target
        self.onSample = onSample
        measurement = RoundTripTimeMeasurement(
            heartbeatFrequencyMS: Int64(context.settings.heartbeatFrequencyMS),
            connectTimeoutMS: Int64(context.options.connectTimeoutMS))
    }

    var isRunning: Bool { measurement.isRunning }
    var samplesTaken: Int { measurement.samplesTaken }

    /// Starts measuring: the first hello goes out at once.
    func start() {
        perform(measurement.start(at: MonotonicClock.nanoseconds()))
    }

    func stop() {
        perform(measurement.stop())
    }

    private func perform(_ decided: [RoundTripTimeMeasurement.Action]) {
        actions.run(decided) { execute($0) }
    }

    private func execute(_ action: RoundTripTimeMeasurement.Action) {
        switch action {
        case .connect:
            connect()
        case .sendHandshake:
            connection?.send(Handshake.handshakeMessage(
                requestID: context.nextRequestID(), appName: context.options.appName, loadBalanced: context.settings.loadBalanced))
        case .sendHello(let useHello):
            connection?.send(Handshake.checkMessage(requestID: context.nextRequestID(), useHello: useHello))
        case .armTickTimer(let at):
            tickTimer.start(at: at)
        case .stopTickTimer:
            tickTimer.stop()
        case .armTimeoutTimer(let at):
            timeoutTimer.start(at: at)
        case .stopTimeoutTimer:
            timeoutTimer.stop()
        case .closeConnection:
            connection?.close()
            connection = nil
        case .recordSample(let sampleMS):
            onSample(sampleMS)
        }
    }

    private func connect() {
        connection?.close()
        connection = nil
        guard let address = target() else {
            perform(measurement.connectionFailed())
            return
        }
        do {
            let opened = try context.openConnection(server: server, address: address) { [unowned self] event in
                self.connectionEvent(event)
            }
            connection = opened
            if opened.isConnected { perform(measurement.connected(at: MonotonicClock.nanoseconds())) }
        } catch {
            perform(measurement.connectionFailed())
        }
    }

    private func connectionEvent(_ event: MonitorConnection.Event) {
        let now = MonotonicClock.nanoseconds()
        switch event {
        case .connected:
            perform(measurement.connected(at: now))
        case .message(let message):
            // The reply itself is ignored (RTT replies never update the topology); only
            // whether to say hello next time is kept.
            let reply = try? Handshake.replyDocument(of: message, from: server)
            perform(measurement.replyReceived(helloOk: reply.map { $0["helloOk"]?.boolValue ?? false }, at: now))
        case .closedByPeer, .failed:
            perform(measurement.connectionFailed())
        }
    }
}
