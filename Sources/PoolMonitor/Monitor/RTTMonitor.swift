import MongoBSON
import SDAMCore
import MongoWire

/// Measures one server's round-trip time while its monitor streams (server-monitoring spec,
/// "Measuring RTT"): a hello every heartbeatFrequencyMS on a dedicated connection of its own,
/// on the same loop. It feeds samples to its owner and never changes the topology or publishes
/// events; its errors only close its connection (the next tick opens a new one).
///
/// Loop-confined.
final class RTTMonitor {
    private let server: ServerAddress
    private let loop: MonitorLoop
    private unowned let context: MonitorCore
    private let onSample: (Double) -> Void
    /// Where to connect: the address the server's monitor reached last.
    private let target: () -> ResolvedAddress?
    private var connection: MonitorConnection?
    private var handshaken = false
    private var useHello = false
    private var sentNS: UInt64?
    private var tickTimer: TimerWatcher!
    private var timeoutTimer: TimerWatcher!
    private(set) var samplesTaken = 0

    init(server: ServerAddress, loop: MonitorLoop, context: MonitorCore, target: @escaping () -> ResolvedAddress?, onSample: @escaping (Double) -> Void) {
        self.server = server
        self.loop = loop
        self.context = context
        self.target = target
        self.onSample = onSample
        tickTimer = TimerWatcher(loop: loop) { [unowned self] in self.tick() }
        timeoutTimer = TimerWatcher(loop: loop) { [unowned self] in self.closeConnection() }
    }

    var isRunning: Bool { tickTimer.isActive || sentNS != nil }

    /// Starts measuring: the first hello goes out at once.
    func start() {
        guard !isRunning else { return }
        tick()
    }

    func stop() {
        tickTimer.stop()
        closeConnection()
    }

    private func tick() {
        tickTimer.start(after: Double(context.settings.heartbeatFrequencyMS) / 1000)
        guard sentNS == nil else { return }  // the previous hello is still out
        if context.options.connectTimeoutMS > 0 {
            timeoutTimer.start(after: Double(context.options.connectTimeoutMS) / 1000)
        }
        if let connection, !connection.isClosed, handshaken {
            send(Handshake.checkMessage(requestID: context.nextRequestID(), useHello: useHello), on: connection)
            return
        }
        closeConnection()
        guard let address = target() else { return }
        do {
            let conn = try MonitorConnection(loop: loop, server: server, address: address, scratch: context.scratch) { [unowned self] event in
                self.connectionEvent(event)
            }
            connection = conn
            if conn.isConnected { sendHandshake() }
        } catch {
            closeConnection()
        }
    }

    private func sendHandshake() {
        guard let connection else { return }
        send(Handshake.handshakeMessage(requestID: context.nextRequestID(), appName: context.options.appName, loadBalanced: context.settings.loadBalanced), on: connection)
    }

    private func send(_ message: WireMessage, on connection: MonitorConnection) {
        sentNS = MonotonicClock.nanoseconds()
        connection.send(message)
    }

    private func connectionEvent(_ event: MonitorConnection.Event) {
        switch event {
        case .connected:
            sendHandshake()
        case .message(let message):
            guard let sent = sentNS else { return closeConnection() }
            let sample = Double(MonotonicClock.nanoseconds() - sent) / 1e6
            sentNS = nil
            timeoutTimer.stop()
            // The reply itself is ignored (the spec: RTT replies never update the topology);
            // only whether to say hello next time is kept.
            if let reply = try? Handshake.replyDocument(of: message, from: server) {
                handshaken = true
                useHello = reply["helloOk"]?.boolValue ?? false
                samplesTaken += 1
                onSample(sample)
            } else {
                closeConnection()
            }
        case .closedByPeer, .failed:
            closeConnection()
        }
    }

    private func closeConnection() {
        timeoutTimer.stop()
        connection?.close()
        connection = nil
        handshaken = false
        sentNS = nil
    }
}
