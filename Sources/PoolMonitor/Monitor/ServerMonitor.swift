import MongoBSON
import SDAMCore
import MongoWire

/// Monitors one server on the loop: runs its checks (connect → handshake hello → reply, or
/// hello on the open connection), times them out, feeds the outcome to the topology, and keeps
/// a read watcher on the idle connection so a server that closes it is checked at once.
///
/// Loop-confined. When to check is decided by the pure `CheckScheduler`; this class only does
/// the I/O and the bookkeeping around it (server-monitoring spec, polling protocol).
final class ServerMonitor {
    let address: ServerAddress
    private let loop: MonitorLoop
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
    /// A `getaddrinfo` for this server is running off the loop. At most one runs at a time: a
    /// check that starts while one hangs waits for it instead of piling up resolver threads.
    private var resolving = false
    private var stopped = false
    /// The address the last successful connect reached (the RTT monitor connects there too).
    private var connectedAddress: ResolvedAddress?
    /// Measures RTT on its own connection while this monitor streams.
    private var rttMonitor: RTTMonitor?

    private struct CheckInFlight {
        var startedNS: UInt64
        /// When the hello was written (the RTT sample runs from here to the reply).
        var helloSentNS: UInt64 = 0
        var requestID: Int32 = 0
        var addresses: [ResolvedAddress] = []
        var addressIndex = 0
        /// The server's type before this check, for the retry rule.
        var previousType: ServerType
        /// Connect errors of the addresses tried so far.
        var connectErrors: [String] = []
        /// Waiting for name resolution.
        var awaitingAddresses = false
        /// A streaming check: an awaited hello reply (pushed by the server).
        var awaited = false
        /// The topologyVersion the awaited reply answers (nil for a polling check).
        var awaitedVersion: TopologyVersion?
        /// `Topology.checkCancellations(for:)` when the check started: an application error
        /// that cancels it in flight leaves its result unapplied.
        var cancellations: UInt64 = 0

        /// The server was known before this check (PossiblePrimary counts as Unknown, as in
        /// Server Description Equality): a network error then earns one immediate retry.
        var wasKnown: Bool { previousType != .unknown && previousType != .possiblePrimary }
    }

    init(address: ServerAddress, loop: MonitorLoop, context: MonitorCore) {
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
        rtt.reset()
        guard abandonCheck("check cancelled after a network error on an application connection") else { return }
        perform(scheduler.checkSucceeded(nowMS: MonotonicClock.milliseconds()))
    }

    /// The server left the topology or the pool is closing: stop everything in this loop turn.
    func stop() {
        _ = abandonCheck("check cancelled: monitoring of the server stopped")
        rttMonitor?.stop()
        rttMonitor = nil
        stopped = true
        scheduler.stop()
        scheduleTimer.stop()
        timeoutTimer.stop()
        closeConnection()
    }

    var hasOpenConnection: Bool { connection.map { !$0.isClosed } ?? false }

    /// Ends the check in flight without a result, publishing the heartbeat failure that every
    /// started heartbeat is owed (logging-and-monitoring spec).
    /// - Returns: whether a check was in flight.
    private func abandonCheck(_ reason: String) -> Bool {
        guard let current = check else { return false }
        check = nil
        timeoutTimer.stop()
        let durationMS = Double(MonotonicClock.nanoseconds() - current.startedNS) / 1e6
        context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: "\(address): \(reason)", awaited: current.awaited))
        return true
    }

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
        let start = context.topology.checkStart(for: address)
        // An Unknown server's average RTT was cleared (server-selection spec), whatever made it
        // Unknown: a failed check or an application error.
        if start.type == .unknown { rtt.reset() }
        check = CheckInFlight(startedNS: MonotonicClock.nanoseconds(), previousType: start.type, cancellations: start.cancellations)
        context.publish(.serverHeartbeatStarted(address, awaited: false))
        armTimeout()
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
        check?.awaitingAddresses = true
        guard !resolving else { return }
        resolving = true
        let server = address
        let core = context.handle()
        NameResolver.resolve(host: server.host, port: server.port) { result in
            core.loop.execute {
                core.value.monitor(for: server)?.resolved(result)
            }
        }
    }

    /// A name resolution finished: it serves the check waiting for it, if any.
    private func resolved(_ result: Result<[ResolvedAddress], NameResolver.ResolutionError>) {
        resolving = false
        guard check?.awaitingAddresses == true else { return }
        check?.awaitingAddresses = false
        switch result {
        case .success(let addresses): connect(to: addresses)
        case .failure(let error): checkFailed(error.description, isNetworkError: true)
        }
    }

    /// connectTimeoutMS runs per connect attempt and again for the reply, so a black-holed
    /// first address does not use up the next one's time.
    private func armTimeout() {
        guard context.options.connectTimeoutMS > 0 else { return }
        timeoutTimer.start(after: Double(context.options.connectTimeoutMS) / 1000)
    }

    private func connect(to addresses: [ResolvedAddress]) {
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
            armTimeout()
            do {
                let conn = try MonitorConnection(loop: loop, server: address, address: target, scratch: context.scratch) { [unowned self] event in
                    self.connectionEvent(event)
                }
                connection = conn
                handshaken = false
                connectedAddress = target
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
        armTimeout()
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
                let earlier = check?.connectErrors ?? []
                checkFailed((earlier + [reason]).joined(separator: "; "), isNetworkError: true)
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
        // One measurement for the RTT sample and the heartbeat's duration, as the monitoring
        // spec requires for non-awaited checks: the hello's round trip. An awaited reply's
        // duration is how long it was awaited, and it is no RTT sample.
        let sampleMS = Double(nowNS - current.helloSentNS) / 1e6
        let durationMS = current.awaited ? Double(nowNS - current.startedNS) / 1e6 : sampleMS
        let reply: BSONDocument
        do {
            reply = try Handshake.replyDocument(of: message, from: address)
        } catch {
            checkFailed(error.description, isNetworkError: true)
            return
        }
        handshaken = true
        useHello = reply["helloOk"]?.boolValue ?? false
        if !current.awaited { rtt.add(sampleMS) }
        let description = ServerDescription(
            address: address, hello: reply, roundTripTimeMS: rtt.average,
            minRoundTripTimeMS: rtt.minimum, now: MonotonicClock.milliseconds()
        )
        check = nil
        timeoutTimer.stop()
        if description.type == .unknown {
            // ok: 0 (or a reply we cannot read): a command error during the check.
            closeConnection()
            rtt.reset()
            var failed = description
            failed.error = "\(address): \(description.error ?? "hello failed")"
            context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: failed.error ?? "", awaited: current.awaited))
            context.apply(failed, checkFailed: true, cancellationsAtStart: current.cancellations)
            perform(scheduler.checkFailed(nowMS: MonotonicClock.milliseconds(), isNetworkError: false, serverWasKnown: current.wasKnown))
            return
        }
        context.publish(.serverHeartbeatSucceeded(address, durationMS: durationMS, reply: reply, awaited: current.awaited))
        context.apply(description, cancellationsAtStart: current.cancellations)
        guard !stopped, let connection, !connection.isClosed else { return }
        if current.awaited, let sent = current.awaitedVersion, description.topologyVersion == sent,
           durationMS < Double(context.settings.heartbeatFrequencyMS) / 2 {
            // The server answered an awaitable hello at once with nothing new: it does not
            // honour maxAwaitTimeMS. Streaming from it would be a busy loop, so it is polled.
            closeConnection()
            perform(scheduler.checkSucceeded(nowMS: MonotonicClock.milliseconds()))
            return
        }
        if message.opMsg?.flags.contains(.moreToCome) == true {
            // Exhaust: the server sends the next reply by itself, answering this one.
            continueStreaming(on: connection, awaiting: description.topologyVersion) {
                connection.expectResponse(to: message.requestID)
            }
        } else if context.streamingEnabled, let topologyVersion = description.topologyVersion {
            startRTTMonitor()
            continueStreaming(on: connection, awaiting: topologyVersion) {
                let requestID = context.nextRequestID()
                check?.requestID = requestID
                connection.send(Handshake.awaitableHelloMessage(
                    requestID: requestID, useHello: useHello, topologyVersion: topologyVersion,
                    maxAwaitTimeMS: Int64(context.settings.heartbeatFrequencyMS)))
            }
        } else {
            perform(scheduler.checkSucceeded(nowMS: MonotonicClock.milliseconds()))
        }
    }

    // MARK: - Streaming

    /// Starts the next awaited check at once (the streaming protocol never sleeps): publish
    /// its started event, arm connectTimeoutMS + heartbeatFrequencyMS, then `request` (send an
    /// awaitable hello, or just expect the next exhaust reply).
    private func continueStreaming(on connection: MonitorConnection, awaiting version: TopologyVersion?, request: () -> Void) {
        let nowNS = MonotonicClock.nanoseconds()
        scheduler.streamingReplyReceived(nowMS: Int64(nowNS / 1_000_000))
        let start = context.topology.checkStart(for: address)
        check = CheckInFlight(startedNS: nowNS, helloSentNS: nowNS, previousType: start.type, awaited: true, awaitedVersion: version,
                              cancellations: start.cancellations)
        context.publish(.serverHeartbeatStarted(address, awaited: true))
        if context.options.connectTimeoutMS > 0 {
            timeoutTimer.start(after: Double(context.options.connectTimeoutMS + context.settings.heartbeatFrequencyMS) / 1000)
        } else {
            timeoutTimer.stop()
        }
        request()
    }

    private func startRTTMonitor() {
        if rttMonitor == nil {
            rttMonitor = RTTMonitor(
                server: address, loop: loop, context: context,
                target: { [unowned self] in self.connectedAddress },
                onSample: { [unowned self] sample in self.rtt.add(sample) }
            )
        }
        rttMonitor?.start()
    }

    /// For tests and diagnostics: sockets this monitor holds open (its own and its RTT monitor's).
    var isStreaming: Bool { check?.awaited == true }
    var rttSamples: Int { rttMonitor?.samplesTaken ?? 0 }

    private func checkTimedOut() {
        guard let current = check else { return }
        if current.awaited {
            let limit = context.options.connectTimeoutMS + context.settings.heartbeatFrequencyMS
            checkFailed("\(address): no awaited hello reply within connectTimeoutMS + heartbeatFrequencyMS (\(limit) ms)", isNetworkError: true)
            return
        }
        let phase = handshaken || hasOpenConnection && connection?.isConnected == true ? "reply" : "connect"
        checkFailed("\(address): no \(phase) within connectTimeoutMS (\(context.options.connectTimeoutMS) ms)", isNetworkError: true)
    }

    /// A network error or timeout ended the check: close the connection, mark the server
    /// Unknown and clear its pool (one transition), then either retry at once (the server was
    /// known: the spec's one immediate retry) or wait for the next heartbeat.
    private func checkFailed(_ reason: String, isNetworkError: Bool) {
        guard let current = check else { return }
        check = nil
        timeoutTimer.stop()
        closeConnection()
        rtt.reset()
        let durationMS = Double(MonotonicClock.nanoseconds() - current.startedNS) / 1e6
        let error = reason.contains(address.description) ? reason : "\(address): \(reason)"
        context.publish(.serverHeartbeatFailed(address, durationMS: durationMS, error: error, awaited: current.awaited))
        let nowMS = MonotonicClock.milliseconds()
        context.apply(ServerDescription(address: address, error: error, now: nowMS), checkFailed: true, cancellationsAtStart: current.cancellations)
        perform(scheduler.checkFailed(nowMS: nowMS, isNetworkError: isNetworkError, serverWasKnown: current.wasKnown))
    }

    private func closeConnection() {
        connection?.close()
        connection = nil
        handshaken = false
    }
}
