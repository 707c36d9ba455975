import MongoBSON

/// The check cycle of one server (server-monitoring spec: "Servers are checked periodically",
/// the streaming protocol, "Measuring RTT", error handling) as a value: inputs are `mutating`
/// functions, each returning the actions the caller carries out in order. It reads no clock
/// and touches no socket, so every rule can be driven by hand; `ServerMonitor` is its executor
/// on the loop.
///
/// One check runs at a time: resolve the host (or wait for the lookup already running), try
/// each resolved address in turn (connectTimeoutMS per attempt), send the handshake on a new
/// connection or a hello on the open one, apply the reply. Between checks the monitor sleeps
/// heartbeatFrequencyMS, counted from the end of the previous check; a request to check now
/// wakes it, but no sooner than minHeartbeatFrequencyMS (500 ms) after that end, and requests
/// coalesce and are ignored while a check runs. A network error on a server that was known
/// marks it Unknown (clearing its pool) and then retries once at once; the retry's own failure
/// waits for the heartbeat. A reply with a `topologyVersion` lets the next check be an
/// awaitable hello at once (streaming never sleeps) while a second connection measures RTT;
/// a server process that answers awaitable hellos at once with nothing new, twice in a row, is
/// polled on the open connection instead, without the RTT connection, until another process
/// answers.
///
/// Times are monotonic nanoseconds on the caller's clock; durations reported in actions are
/// milliseconds, as the monitoring events carry them.
///
/// `Address` is whatever the executor connects to (a resolved socket address); the cycle only
/// passes it back in `.connect` and remembers which one worked. It asks nothing more of it:
/// a protocol requirement here (it was Hashable) makes the Swift runtime look up the
/// executor's address type's conformance by scanning every conformance in the process the
/// first time a cycle's types are made — about 0.1 ms of a process's first check (issue 17).
/// `Action` is Equatable when `Address` is, for tests.
public struct ServerCheckCycle<Address: Sendable>: Sendable {
    /// The spec's minHeartbeatFrequencyMS: never configurable.
    public static var minHeartbeatFrequencyMS: Int64 { 500 }
    /// The largest heartbeat kept (about 35 years), so that schedule arithmetic cannot overflow.
    public static var maxHeartbeatFrequencyMS: Int64 { 1 << 40 }

    /// What the cycle needs to know of the client's settings.
    public struct Configuration: Sendable, Equatable {
        /// Clamped to `minHeartbeatFrequencyMS...maxHeartbeatFrequencyMS`.
        public var heartbeatFrequencyMS: Int64
        /// Per connect attempt and per reply; 0 means no timeout.
        public var connectTimeoutMS: Int64
        /// From `serverMonitoringMode` and the environment.
        public var streamingEnabled: Bool
        /// Whether connecting includes a TLS handshake (it shares connectTimeoutMS with the TCP
        /// connect); only the words of a connect timeout depend on it.
        public var usesTLS: Bool
        /// Whether a known server whose check timed out (a connect or a reply that took
        /// connectTimeoutMS) gets the one immediate retry, as after any other network error.
        /// A single-threaded client turns it off: its scan waits for every check, so retrying a
        /// hung server would make the scan last twice connectTimeoutMS; the server is skipped
        /// for cooldownMS instead.
        public var retriesAfterTimeout: Bool

        public init(heartbeatFrequencyMS: Int64, connectTimeoutMS: Int64, streamingEnabled: Bool, usesTLS: Bool = false,
                    retriesAfterTimeout: Bool = true) {
            self.usesTLS = usesTLS
            self.retriesAfterTimeout = retriesAfterTimeout
            self.heartbeatFrequencyMS = min(max(heartbeatFrequencyMS, ServerCheckCycle.minHeartbeatFrequencyMS),
                                            ServerCheckCycle.maxHeartbeatFrequencyMS)
            self.connectTimeoutMS = max(0, min(connectTimeoutMS, ServerCheckCycle.maxHeartbeatFrequencyMS))
            self.streamingEnabled = streamingEnabled
        }
    }

    /// What the executor must do, in the order given.
    public enum Action: Sendable {
        /// A check starts now: read the server's type and its check-cancellation count from the
        /// topology (one lock) and pass them to `beginCheck`. Always the last action of a list.
        case startCheck
        /// Resolve the server's host off the loop and report `addressesResolved` or
        /// `resolutionFailed` (an IP literal may be reported at once).
        case resolve
        /// Open a non-blocking connection to the address; report `connected` or
        /// `connectionFailed(.connectFailed)`.
        case connect(Address)
        /// Send the handshake (legacy hello with `helloOk`) on the new connection.
        case sendHandshake
        /// Send a regular hello on the open connection (`hello` when the handshake said
        /// `helloOk`, else legacy hello).
        case sendHello(useHello: Bool)
        /// Send an awaitable hello with the OP_MSG exhaustAllowed flag.
        case sendAwaitableHello(useHello: Bool, topologyVersion: TopologyVersion, maxAwaitTimeMS: Int64)
        /// Send nothing: the previous reply had moreToCome, so the server pushes the next one.
        case expectNextExhaustReply
        /// (Re-)arm the timer between checks to fire at this instant.
        case armScheduleTimer(at: UInt64)
        case stopScheduleTimer
        /// (Re-)arm the timer of the step in flight (connect, reply, awaited reply).
        case armTimeoutTimer(at: UInt64)
        case stopTimeoutTimer
        /// Close the monitoring connection, whatever its state (nothing when none is open).
        case closeConnection
        /// Apply the check's outcome to the topology. `checkFailed` marks the server Unknown
        /// and clears its pool in the same transition; `cancellationsAtStart` lets the topology
        /// drop the outcome of a check an application error cancelled in flight.
        case applyDescription(ServerDescription, checkFailed: Bool, interruptInUseConnections: Bool = false, cancellationsAtStart: UInt64)
        case publishHeartbeatStarted(awaited: Bool)
        case publishHeartbeatSucceeded(durationMS: Double, reply: BSONDocument, awaited: Bool)
        case publishHeartbeatFailed(durationMS: Double, error: String, awaited: Bool)
        /// Start measuring RTT on a dedicated connection to `connectedAddress`, feeding
        /// samples to `roundTripTimeMeasured`.
        case startRTTMeasurement
        case stopRTTMeasurement
    }

    /// How a monitoring connection failed, as the socket layer reports it.
    public enum ConnectionFailure: Sendable, Equatable {
        /// The connect was refused or failed (at once or when the socket became writable).
        case connectFailed(String)
        /// A read, write or protocol failure (including a reply that could not be read).
        case ioFailed(String)
        /// The server closed the connection (EOF or reset).
        case closedByPeer(String)

        public var reason: String {
            switch self {
            case .connectFailed(let text), .ioFailed(let text), .closedByPeer(let text): text
            }
        }
    }

    /// How the last check ended, for a single-threaded client's scan (cooldownMS follows a
    /// network error).
    public enum CheckOutcome: Sendable, Equatable {
        case succeeded
        /// The server was marked Unknown; `networkError` tells a network error or timeout from
        /// a command error (`ok: 0`).
        case failed(networkError: Bool)
        /// An `ok: 0` reply labelled SystemOverloadedError (backpressure, on an authenticated
        /// connection): the connection stays open and the topology unchanged.
        case overloaded
        /// An application error cancelled the check.
        case cancelled
    }

    /// A hello reply, already taken out of its wire message.
    public struct Reply: Sendable, Equatable {
        public var document: BSONDocument
        /// The OP_MSG moreToCome flag: the server streams the next reply by itself.
        public var moreToCome: Bool

        public init(document: BSONDocument, moreToCome: Bool = false) {
            self.document = document
            self.moreToCome = moreToCome
        }
    }

    enum State: Sendable {
        case notStarted
        /// Sleeping between checks until `dueAt` (the schedule timer is armed for it).
        case waiting(dueAt: UInt64)
        /// `.startCheck` was returned; `beginCheck` comes next.
        case starting(isRetry: Bool)
        case checking(Check)
        case stopped
    }

    /// The check in flight.
    struct Check: Sendable {
        var startedAt: UInt64
        var step: Step
        /// An awaited check (streaming): its heartbeat events say so, and its reply is no RTT
        /// sample.
        var awaited = false
        /// The server's type before the check was not Unknown (PossiblePrimary counts as
        /// Unknown, as in Server Description Equality): a network error then earns the retry.
        var serverWasKnown: Bool
        var cancellations: UInt64
        /// This check is the one immediate retry after a network error.
        var isRetry: Bool
        /// Why each address tried so far failed, for the error of a check that runs out of them.
        var connectErrors: [String] = []
        /// When the step in flight times out; nil with connectTimeoutMS=0.
        var deadline: UInt64?
        /// A step of this check already took connectTimeoutMS (a black-holed address).
        var timedOut = false
    }

    enum Step: Sendable {
        case resolving
        case connecting(addresses: [Address], index: Int)
        /// The handshake is out on the new connection to `addresses[index]`.
        case handshaking(addresses: [Address], index: Int, sentAt: UInt64)
        /// A regular hello is out on the open connection.
        case polling(sentAt: UInt64)
        /// An awaitable hello is out, or the next exhaust reply is awaited; `topologyVersion`
        /// is the one it answers.
        case awaiting(topologyVersion: TopologyVersion?)
    }

    /// The open, handshaken monitoring connection.
    struct OpenConnection: Sendable {
        var address: Address
        var useHello: Bool
        /// The last reply had moreToCome: the server keeps streaming on this connection.
        var moreToCome: Bool
    }

    public let server: ServerAddress
    public let configuration: Configuration
    var state: State = .notStarted
    var connection: OpenConnection?
    /// When the previous check ended (a streaming reply ends one too), for the 500 ms floor.
    public internal(set) var lastCheckEndedAt: UInt64?
    /// A lookup for this server is running. At most one runs at a time: a check that starts
    /// while one hangs waits for it instead of piling up resolver threads.
    var resolutionInFlight = false
    var measuringRTT = false
    var rtt = RoundTripTimeEstimator()
    /// The topologyVersion of the last description this cycle applied (the spec's
    /// previousDescription.topologyVersion): what the next awaitable hello sends.
    var topologyVersion: TopologyVersion?
    /// Awaited replies in a row that came back quickly with nothing new.
    var quickAwaitedReplies = 0
    /// The server process (topologyVersion.processId) that answered awaitable hellos at once
    /// twice in a row: it is polled, not streamed from, until another process answers.
    var streamingRefusedFor: BSONObjectID?
    /// Checks ended so far (each ends with one of `CheckOutcome`); a scan waits until it grew.
    public private(set) var checksCompleted = 0
    public internal(set) var lastCheckOutcome: CheckOutcome?

    public init(server: ServerAddress, configuration: Configuration) {
        self.server = server
        self.configuration = configuration
    }

    // MARK: - What the executor may read

    /// An awaited (streaming) check is in flight.
    public var isStreaming: Bool {
        if case .checking(let check) = state { check.awaited } else { false }
    }

    /// The address of the open monitoring connection (the RTT connection goes there too).
    public var connectedAddress: Address? { connection?.address }

    public var isStopped: Bool {
        if case .stopped = state { true } else { false }
    }

    /// A check runs or is about to start (`.startCheck` was returned).
    public var isCheckInFlight: Bool {
        switch state {
        case .starting, .checking: true
        case .notStarted, .waiting, .stopped: false
        }
    }

    /// The weighted average RTT the next description will carry; nil after a reset.
    public var averageRoundTripTimeMS: Double? { rtt.average }

    // MARK: - Starting, stopping, cancelling

    /// The monitor starts: its first check runs at once.
    public mutating func start() -> [Action] {
        guard case .notStarted = state else { return [] }
        state = .starting(isRetry: false)
        return [.startCheck]
    }

    /// The server left the topology or the pool closes: abandon the check in flight (its
    /// started heartbeat is owed a failure, logging-and-monitoring spec), stop measuring RTT,
    /// stop both timers and close the connection. Every later input does nothing.
    public mutating func stop(at now: UInt64) -> [Action] {
        if isStopped { return [] }
        var actions: [Action] = []
        if case .checking(let check) = state {
            actions.append(.publishHeartbeatFailed(
                durationMS: Self.milliseconds(from: check.startedAt, to: now),
                error: "\(server): check cancelled: monitoring of the server stopped", awaited: check.awaited))
        }
        if measuringRTT { actions.append(.stopRTTMeasurement) }
        actions += [.stopScheduleTimer, .stopTimeoutTimer, .closeConnection]
        state = .stopped
        connection = nil
        measuringRTT = false
        return actions
    }

    /// An application connection saw a network error: the monitoring connection is likely
    /// dead too ("Drivers cancel in-progress monitor checks"). Close it and abandon the check in
    /// flight without applying its result (the topology has already marked the server
    /// Unknown); the next check follows the usual rhythm and connects anew.
    public mutating func cancel(at now: UInt64) -> [Action] {
        switch state {
        case .notStarted, .stopped:
            return []
        case .waiting, .starting:
            rtt.reset()
            connection = nil
            return [.closeConnection]
        case .checking(let check):
            rtt.reset()
            connection = nil
            quickAwaitedReplies = 0
            lastCheckOutcome = .cancelled
            return Self.concatenated(
                [.closeConnection, .stopTimeoutTimer,
                 .publishHeartbeatFailed(
                    durationMS: Self.milliseconds(from: check.startedAt, to: now),
                    error: "\(server): check cancelled after a network error on an application connection",
                    awaited: check.awaited)],
                waitForHeartbeat(endedAt: now))
        }
    }

    // MARK: - Scheduling

    /// The schedule timer fired.
    public mutating func scheduleTimerFired(at now: UInt64) -> [Action] {
        guard case .waiting(let due) = state else { return [] }
        // The loop's timer may fire a hair early by this clock: re-arm instead of checking early.
        guard now >= due else { return [.armScheduleTimer(at: due)] }
        state = .starting(isRetry: false)
        return [.startCheck]
    }

    /// Somebody wants the server checked soon (a waiting selection, an application error).
    /// Only a sleeping monitor wakes; no check starts sooner than minHeartbeatFrequencyMS after
    /// the previous one ended; a request due no sooner than the schedule already is coalesces.
    public mutating func immediateCheckRequested(at now: UInt64) -> [Action] {
        guard case .waiting(let due) = state else { return [] }
        let earliest = (lastCheckEndedAt ?? now) + Self.nanoseconds(Self.minHeartbeatFrequencyMS)
        let newDue = max(now, earliest)
        guard newDue < due else { return [] }
        if newDue <= now {
            state = .starting(isRetry: false)
            return [.stopScheduleTimer, .startCheck]
        }
        state = .waiting(dueAt: newDue)
        return [.armScheduleTimer(at: newDue)]
    }

    /// A check starts, with what the topology says of the server now: the connection open
    /// decides what it sends (an exhaust stream's next reply, an awaitable hello, a hello, or a
    /// new connection first).
    /// - Parameters:
    ///   - serverType: the server's type in the topology (for the retry rule; Unknown also
    ///     clears the RTT average, server-selection spec).
    ///   - cancellations: the topology's check-cancellation count for the server.
    public mutating func beginCheck(serverType: ServerType, cancellations: UInt64, at now: UInt64) -> [Action] {
        guard case .starting(let isRetry) = state else { return [] }
        if serverType == .unknown { rtt.reset() }
        var check = Check(startedAt: now, step: .resolving,
                          serverWasKnown: serverType != .unknown && serverType != .possiblePrimary,
                          cancellations: cancellations, isRetry: isRetry)
        var actions: [Action]
        if let open = connection, open.moreToCome {
            check.awaited = true
            check.step = .awaiting(topologyVersion: topologyVersion)
            actions = [.publishHeartbeatStarted(awaited: true), armTimeout(&check, at: now), .expectNextExhaustReply]
        } else if let open = connection, streamingAllowed, let topologyVersion {
            check.awaited = true
            check.step = .awaiting(topologyVersion: topologyVersion)
            actions = [.publishHeartbeatStarted(awaited: true), armTimeout(&check, at: now),
                       .sendAwaitableHello(useHello: open.useHello, topologyVersion: topologyVersion,
                                           maxAwaitTimeMS: configuration.heartbeatFrequencyMS)]
            if !measuringRTT {
                measuringRTT = true
                actions.append(.startRTTMeasurement)
            }
        } else if let open = connection {
            check.step = .polling(sentAt: now)
            actions = [.publishHeartbeatStarted(awaited: false), armTimeout(&check, at: now), .sendHello(useHello: open.useHello)]
        } else {
            actions = [.publishHeartbeatStarted(awaited: false), armTimeout(&check, at: now)]
            if !resolutionInFlight {
                resolutionInFlight = true
                actions.append(.resolve)
            }
        }
        state = .checking(check)
        return actions
    }

    /// A sample from the RTT connection (`RoundTripTimeMeasurement`), in milliseconds.
    public mutating func roundTripTimeMeasured(_ sampleMS: Double) {
        guard !isStopped else { return }
        rtt.add(sampleMS)
    }

    // MARK: - Timeouts

    /// The timeout timer fired: the step in flight took longer than it may.
    public mutating func timeoutTimerFired(at now: UInt64) -> [Action] {
        guard case .checking(var check) = state, let deadline = check.deadline else { return [] }
        guard now >= deadline else { return [.armTimeoutTimer(at: deadline)] }
        let limit = configuration.connectTimeoutMS
        switch check.step {
        case .resolving:
            return failCheck(check, "cannot resolve \(server.host) within connectTimeoutMS (\(limit) ms)", isNetworkError: true, at: now)
        case .connecting(let addresses, let index):
            // This address is black-holed (a filtered AAAA record, say): the same check goes
            // on to the next one, with connectTimeoutMS of its own.
            let what = configuration.usesTLS ? "no TCP connect and TLS handshake with" : "no connect to"
            check.connectErrors.append("\(what) \(addresses[index]) within connectTimeoutMS (\(limit) ms)")
            check.timedOut = true
            return tryNextAddress(&check, of: addresses, after: index, at: now)
        case .handshaking, .polling:
            return failCheck(check, "no reply within connectTimeoutMS (\(limit) ms)", isNetworkError: true, timedOut: true, at: now)
        case .awaiting:
            return failCheck(check, "no awaited hello reply within connectTimeoutMS + heartbeatFrequencyMS (\(limit + configuration.heartbeatFrequencyMS) ms)",
                             isNetworkError: true, timedOut: true, at: now)
        }
    }

    // MARK: - Helpers shared by the extensions

    /// The next check streams: enabled, the server reported a topologyVersion, and its
    /// process has not been caught ignoring maxAwaitTimeMS.
    var streamingAllowed: Bool {
        guard configuration.streamingEnabled, let topologyVersion else { return false }
        return topologyVersion.processId != streamingRefusedFor
    }

    /// Arms connectTimeoutMS for the step starting now (plus heartbeatFrequencyMS for an
    /// awaited reply, the streaming protocol's socket timeout), or stops the timer when
    /// connectTimeoutMS is 0.
    func armTimeout(_ check: inout Check, at now: UInt64) -> Action {
        guard configuration.connectTimeoutMS > 0 else {
            check.deadline = nil
            return .stopTimeoutTimer
        }
        let limitMS = configuration.connectTimeoutMS + (check.awaited ? configuration.heartbeatFrequencyMS : 0)
        let deadline = now + Self.nanoseconds(limitMS)
        check.deadline = deadline
        return .armTimeoutTimer(at: deadline)
    }

    /// The check is over: sleep heartbeatFrequencyMS, counted from its end.
    mutating func waitForHeartbeat(endedAt now: UInt64) -> [Action] {
        lastCheckEndedAt = now
        checksCompleted += 1
        let due = now + Self.nanoseconds(configuration.heartbeatFrequencyMS)
        state = .waiting(dueAt: due)
        return [.armScheduleTimer(at: due)]
    }

    /// The next check starts at once (streaming, or the one retry).
    mutating func checkAtOnce(endedAt now: UInt64, isRetry: Bool) -> [Action] {
        lastCheckEndedAt = now
        checksCompleted += 1
        state = .starting(isRetry: isRetry)
        return [.startCheck]
    }

    /// `first` then `rest`, appended element by element. Not `first + rest`: this generic code
    /// runs unspecialized (its callers are in other modules), where `+` goes through
    /// `append(contentsOf:)` over any Sequence and makes the Swift runtime look up the
    /// Sequence witnesses of `[Action]` by name on first use — about 0.1 ms of a process's
    /// first check (issue 17).
    static func concatenated(_ first: [Action], _ rest: [Action]) -> [Action] {
        var all = first
        all.reserveCapacity(first.count + rest.count)
        for i in 0..<rest.count { all.append(rest[i]) }
        return all
    }

    /// A network error, timeout or command error ended the check (server-monitoring spec,
    /// "Network or command error during server check"): close the connection, publish the
    /// failure, mark the server Unknown and clear its pool in one transition, then retry at
    /// once if the server was known and this was a network error and not already the retry,
    /// else wait for the heartbeat.
    /// - Parameter timedOut: the check timed out (server-monitoring spec: the pool is then
    ///   cleared with interruptInUseConnections, since connections in use are likely stuck too).
    mutating func failCheck(_ check: Check, _ reason: String, isNetworkError: Bool, timedOut: Bool = false, at now: UInt64,
                            description: ServerDescription? = nil) -> [Action] {
        let error = reason.contains(server.description) ? reason : "\(server): \(reason)"
        var failed = description ?? ServerDescription(address: server, error: error, now: Self.milliseconds(now))
        failed.error = error
        connection = nil
        rtt.reset()
        quickAwaitedReplies = 0
        lastCheckOutcome = .failed(networkError: isNetworkError)
        let actions: [Action] = [
            .stopTimeoutTimer, .closeConnection,
            .publishHeartbeatFailed(durationMS: Self.milliseconds(from: check.startedAt, to: now), error: error, awaited: check.awaited),
            .applyDescription(failed, checkFailed: true, interruptInUseConnections: timedOut, cancellationsAtStart: check.cancellations),
        ]
        let retryAllowed = configuration.retriesAfterTimeout || !(timedOut || check.timedOut)
        if isNetworkError, check.serverWasKnown, !check.isRetry, retryAllowed {
            return Self.concatenated(actions, checkAtOnce(endedAt: now, isRetry: true))
        }
        return Self.concatenated(actions, waitForHeartbeat(endedAt: now))
    }

    static func nanoseconds(_ milliseconds: Int64) -> UInt64 { UInt64(max(0, milliseconds)) * 1_000_000 }

    static func milliseconds(_ nanoseconds: UInt64) -> Int64 { Int64(nanoseconds / 1_000_000) }

    static func milliseconds(from start: UInt64, to end: UInt64) -> Double {
        end >= start ? Double(end - start) / 1e6 : 0
    }
}

extension ServerCheckCycle.Action: Equatable where Address: Equatable {}
