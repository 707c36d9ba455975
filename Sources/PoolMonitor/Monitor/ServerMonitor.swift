/// Monitors one server on the loop: runs its checks (connect → handshake hello → reply, or
/// hello on the open connection), times them out, feeds the outcome to the topology, and keeps
/// a read watcher on the idle connection so a server that closes it is checked at once.
///
/// Loop-confined. When to check is decided by the pure `CheckScheduler`; this class only does
/// the I/O and the bookkeeping around it (server-monitoring spec, polling protocol).
final class ServerMonitor {
    let address: ServerAddress
    private let loop: EventLoop
    private unowned let context: MonitorCore
    private var scheduler: CheckScheduler
    private var rtt = RoundTripTimeEstimator()
    private var connection: MonitorConnection?
    /// Whether the open connection has completed its handshake.
    private var handshaken = false
    /// The handshake reply said `helloOk`: later checks use `hello`, else legacy `isMaster`.
    private var useHello = false
    private var scheduleTimer: TimerWatcher!
    private var timeoutTimer: TimerWatcher!
    private var check: CheckInFlight?
    /// Bumped for every check, so a late name resolution for an old check is ignored.
    private var checkSerial = 0
    private var stopped = false

    private struct CheckInFlight {
        var serial: Int
        var startedNS: UInt64
        /// When the hello was written (the RTT sample runs from here to the reply).
        var helloSentNS: UInt64 = 0
        var requestID: Int32 = 0
        var addresses: [SocketAddress] = []
        var addressIndex = 0
        /// The server's type before this check, for the retry rule.
        var previousType: ServerType
        /// Connect errors of the addresses tried so far.
        var connectErrors: [String] = []
    }

    init(address: ServerAddress, loop: EventLoop, context: MonitorCore) {
        self.address = address
        self.loop = loop
        self.context = context
        scheduler = CheckScheduler(heartbeatFrequencyMS: Int64(context.settings.heartbeatFrequencyMS))
        scheduleTimer = TimerWatcher(loop: loop) { [unowned self] in
            self.perform(self.scheduler.timerFired(nowMS: MonotonicClock.milliseconds()))
        }
        timeoutTimer = TimerWatcher(loop: loop) { [unowned self] in
            self.checkTimedOut()
        }
    }

    // MARK: - Inputs from the monitor

    func start() {
        perform(scheduler.start())
    }

    func requestImmediateCheck() {
        perform(scheduler.requestImmediateCheck(nowMS: MonotonicClock.milliseconds()))
    }

    /// An application connection saw a network error: the monitoring connection is likely
    /// dead too. Close it and abandon the check in flight without reporting it (the topology
    /// has already marked the server Unknown); the next check follows the usual rhythm.
    func cancelCheck() {
        closeConnection()
        guard check != nil else { return }
        check = nil
        timeoutTimer.stop()
        perform(scheduler.checkSucceeded(nowMS: MonotonicClock.milliseconds()))
    }

    /// The server left the topology or the pool is closing: stop everything in this loop turn.
    func stop() {
        stopped = true
        scheduler.stop()
        check = nil
        scheduleTimer.stop()
        timeoutTimer.stop()
        closeConnection()
    }

    var hasOpenConnection: Bool { connection.map { !$0.isClosed } ?? false }

    // MARK: - Running a check

    private func perform(_ action: CheckScheduler.Action) {
        guard !stopped else { return }
        switch action {
        case .none:
            return
        case .armTimer(let dueAtMS):
            let delayMS = dueAtMS - MonotonicClock.milliseconds()
            scheduleTimer.start(after: Double(max(0, delayMS)) / 1000 + 0.000_5)
        case .startCheck:
            scheduleTimer.stop()
            beginCheck()
        }
    }

    private func beginCheck() {
        checkSerial += 1
        let previousType = context.topology.description.servers[address]?.type ?? .unknown
        check = CheckInFlight(serial: checkSerial, startedNS: MonotonicClock.nanoseconds(), previousType: previousType)
        context.publish(.serverHeartbeatStarted(address, awaited: false))
        if context.options.connectTimeoutMS > 0 {
            timeoutTimer.start(after: Double(context.options.connectTimeoutMS) / 1000)
        }
        if let connection, !connection.isClosed, handshaken {
            sendHello(on: connection, handshake: false)
            return
        }
        closeConnection()
        if let literal = NameResolver.literal(host: address.host, port: address.port) {
            connect(to: literal)
            return
        }
        // getaddrinfo blocks: it runs off the loop, and the result comes back through the inbox.
        let serial = checkSerial
        let server = address
        let core = context.handle()
        NameResolver.resolve(host: server.host, port: server.port) { result in
            core.loop.execute {
                guard let monitor = core.value.monitor(for: server), monitor.check?.serial == serial else { return }
                switch result {
                case .success(let addresses): monitor.connect(to: addresses)
                case .failure(let error): monitor.checkFailed(error.description, isNetworkError: true)
                }
            }
        }
    }

    private func connect(to addresses: [SocketAddress]) {
        check?.addresses = addresses
        check?.addressIndex = 0
        connectNextAddress()
    }

    /// Tries the resolved addresses in order until one connects.
    private func connectNextAddress() {
        guard var current = check else { return }
        while current.addressIndex < current.addresses.count {
            let target = current.addresses[current.addressIndex]
            current.addressIndex += 1
            check = current
            do {
                let conn = try MonitorConnection(loop: loop, server: address, address: target, scratch: context.scratch) { [unowned self] event in
                    self.connectionEvent(event)
                }
                connection = conn
                handshaken = false
                if conn.isConnected { sendHello(on: conn, handshake: true) }
                return
            } catch {
                current.connectErrors.append(error.description)
                check = current
            }
        }
        let reasons = current.connectErrors.joined(separator: "; ")
        checkFailed(reasons.isEmpty ? "no address to connect to for \(address)" : reasons, isNetworkError: true)
    }

    private func sendHello(on connection: MonitorConnection, handshake: Bool) {
        guard check != nil else { return }
        let requestID = context.nextRequestID()
        check?.requestID = requestID
        check?.helloSentNS = MonotonicClock.nanoseconds()
        let message = handshake
            ? Handshake.handshakeMessage(requestID: requestID, appName: context.options.appName, loadBalanced: context.settings.loadBalanced)
            : Handshake.checkMessage(requestID: requestID, useHello: useHello)
        connection.send(message)
    }

    private func connectionEvent(_ event: MonitorConnection.Event) {
        switch event {
        case .connected:
            if let connection { sendHello(on: connection, handshake: true) }
        case .message(let message):
            replyReceived(message)
        case .closedByPeer(let reason), .failed(let reason):
            if check != nil {
                if !handshaken, let current = check, current.addressIndex < current.addresses.count {
                    // This address did not work out before the handshake: try the next one.
                    check?.connectErrors.append(reason)
                    closeConnection()
                    connectNextAddress()
                    return
                }
                checkFailed(reason, isNetworkError: true)
            } else {
                // The idle connection died (the server's process went away, or it dropped
                // connections on stepdown): check at once, subject to the 500 ms floor.
                closeConnection()
                requestImmediateCheck()
            }
        }
    }

    private func replyReceived(_ message: WireMessage) {
        guard let current = check else {
            // Nothing was asked: a server talking out of turn is broken.
            closeConnection()
            requestImmediateCheck()
            return
        }
        let nowNS = MonotonicClock.nanoseconds()
        let sampleMS = Double(nowNS - current.helloSentNS) / 1e6
        let durationMS = Double(nowNS - current.startedNS) / 1e6
        let reply: BSONDocument
        do {
            reply = try Handshake.replyDocument(of: message, from: address)
        } catch {
            checkFailed(error.description, isNetworkError: true)
            return
        }
        if !handshaken {
            handshaken = true
            useHello = reply["helloOk"]?.boolValue ?? false
        }
        let average = rtt.add(sampleMS)
        let description = ServerDescription(
            address: address, hello: reply, roundTripTimeMS: average,
            minRoundTripTimeMS: rtt.minimum, now: MonotonicClock.milliseconds()
        )
        check = nil
        timeoutTimer.stop()
        if description.type == .unknown {
            // ok: 0 (or a reply we cannot read): a command error during the check.
            closeConnection()
            rtt.reset()
            let error = description.error ?? "hello failed"
            context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: "\(address): \(error)", awaited: false))
            context.apply(description)
            perform(scheduler.checkFailed(nowMS: MonotonicClock.milliseconds(), isNetworkError: false, serverWasKnown: current.previousType != .unknown))
            return
        }
        context.publish(.serverHeartbeatSucceeded(address, durationMS: durationMS, reply: reply, awaited: false))
        context.apply(description)
        perform(scheduler.checkSucceeded(nowMS: MonotonicClock.milliseconds()))
    }

    private func checkTimedOut() {
        guard check != nil else { return }
        let phase = handshaken || hasOpenConnection && connection?.isConnected == true ? "reply" : "connect"
        checkFailed("\(address): no \(phase) within connectTimeoutMS (\(context.options.connectTimeoutMS) ms)", isNetworkError: true)
    }

    /// A network error or timeout ended the check: close the connection, mark the server
    /// Unknown (which clears its pool), then either retry at once (the server was known: the
    /// spec's one immediate retry) or wait for the next heartbeat.
    private func checkFailed(_ reason: String, isNetworkError: Bool) {
        guard let current = check else { return }
        check = nil
        timeoutTimer.stop()
        closeConnection()
        rtt.reset()
        let durationMS = Double(MonotonicClock.nanoseconds() - current.startedNS) / 1e6
        let error = reason.contains(address.description) ? reason : "\(address): \(reason)"
        context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: error, awaited: false))
        let nowMS = MonotonicClock.milliseconds()
        context.apply(ServerDescription(address: address, error: error, now: nowMS))
        perform(scheduler.checkFailed(nowMS: nowMS, isNetworkError: isNetworkError, serverWasKnown: current.previousType != .unknown))
    }

    private func closeConnection() {
        connection?.close()
        connection = nil
        handshaken = false
    }
}
