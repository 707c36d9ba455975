import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS

/// Discovers and monitors a deployment on the caller's thread, for a client that has no thread
/// of its own (server-monitoring spec, "Single-threaded monitoring"; libmongoc's
/// single-threaded mode).
///
/// It runs the pooled monitor's code — the same `ServerMonitor` per server with its pure check
/// cycle, the same non-blocking connections and libev watchers — on a `MonitorLoop` made with
/// `.callersThread`, which runs only while a call of this type runs it. A scan asks every
/// server for a check at once and runs the loop until each has finished a check begun in the
/// scan (servers that join meanwhile included) or timed out: the fan-out and fan-in, so a scan
/// lasts as long as its slowest check (connectTimeoutMS at most for a server that does not
/// answer), not the sum of all. Between scans nothing runs: the monitors check only when asked.
///
/// Each server's one connection is also the application's: `roundTrip` sends a command on it
/// and runs the loop until the reply. Its handshake carries the client's authentication
/// (`SharedHandshake`).
///
/// Not Sendable: one thread uses it at a time, the client's. Events go to the topology's
/// publisher; a `.onDeliverPending` publisher delivers them when the client says, never during
/// the loop's callbacks.
package final class CallersThreadMonitor {
    package let topology: Topology
    package let options: MonitorOptions
    package private(set) var schedule: ScanSchedule
    private let loop: MonitorLoop
    private let core: LoopBound<MonitorCore?>
    private let names: ResolvedNameCache
    private var opened = false
    private var closed = false

    /// Creates the topology and the loop; no I/O, no thread (the first scan connects).
    /// - Parameters:
    ///   - handshake: the authentication each new connection's handshake carries; nil without
    ///     credentials.
    /// - Throws: `TopologySettingsError`, `MonitorLoop.CreationError`.
    package init(
        settings: TopologySettings, options: MonitorOptions, events: EventPublisher, tls: TLSContext?,
        handshake: (@Sendable (ServerAddress) -> SharedHandshake)?
    ) throws {
        try settings.validate()
        let topology = Topology(settings: settings, events: events)
        let loop = try MonitorLoop(name: options.threadName, threading: .callersThread)
        let core = LoopBound<MonitorCore?>(nil, loop: loop)
        self.topology = topology
        self.options = options
        self.loop = loop
        self.core = core
        names = ResolvedNameCache(loop: loop)
        schedule = ScanSchedule(heartbeatFrequencyMS: Int64(settings.heartbeatFrequencyMS))
        // Monitor actions of application errors (cancel a check) reach the loop through its
        // inbox, drained when the caller next runs it.
        topology.setMonitorSink { actions in
            loop.execute { core.value?.perform(actions) }
        }
        let names = self.names
        loop.perform {
            core.value = MonitorCore(
                loop: loop, topology: topology, options: options, resolution: .onLoopThread(names),
                sharedConnections: SharedConnections(handshake: handshake), usesTLS: tls != nil,
                connectionFactory: MonitorConnection.factory(tls: tls))
        }
    }

    deinit { close() }

    // MARK: - Scanning

    /// Checks every server (but those cooling down) at once, and those that join meanwhile,
    /// and returns when each check has ended.
    @discardableResult
    package func scan(reason: ScanReport.Reason) -> ScanReport {
        let started = MonotonicClock.nanoseconds()
        guard !closed else {
            return ScanReport(reason: reason, number: schedule.scansCompleted, startedNS: started, durationMS: 0, checks: [],
                              coolingDown: [], topologyType: topology.description.type)
        }
        var baselines: [ServerAddress: Int] = [:]
        loop.perform {
            guard let core = core.value else { return }
            if !opened {
                opened = true
                // The seeds' monitors start their first checks here: they are this scan's.
                topology.open(act: { core.perform($0) })
            }
            let servers = Array(topology.description.servers.keys)
            for server in schedule.beginScan(of: servers, at: MonotonicClock.nanoseconds()) {
                guard let monitor = core.monitor(for: server) else { continue }
                baselines[server] = monitor.isCheckInFlight && monitor.checksCompleted == 0 ? 0 : monitor.checksCompleted
                monitor.requestImmediateCheck()
            }
        }
        loop.run(until: nil) {
            let now = MonotonicClock.nanoseconds()
            guard let core = core.value else { return true }
            let present = Set(topology.description.servers.keys)
            for joined in schedule.serversChanged(to: present, at: now) {
                // Its monitor started its first check when it joined, in this scan.
                baselines[joined] = 0
            }
            for server in schedule.scan?.pending ?? [] {
                guard let monitor = core.monitor(for: server) else { continue }
                if !monitor.isCheckInFlight, monitor.checksCompleted > baselines[server, default: 0] {
                    schedule.checkEnded(server, networkError: monitor.lastCheckOutcome == .failed(networkError: true),
                                        at: monitor.lastCheckEndedAt ?? now)
                }
            }
            return schedule.scan?.isComplete ?? true
        }
        let finished = MonotonicClock.nanoseconds()
        let scan = schedule.endScan(at: finished)
        let description = topology.description
        let joined = Set(scan?.joined ?? [])
        let checks = (scan?.ended ?? []).sorted { $0.at < $1.at }.map { entry -> ScanReport.Check in
            let server = description.servers[entry.server]
            return ScanReport.Check(address: entry.server, type: server?.type ?? .unknown,
                                    durationMS: Double(entry.at &- started) / 1e6, error: server?.error,
                                    joined: joined.contains(entry.server))
        }
        return ScanReport(reason: reason, number: schedule.scansCompleted, startedNS: started,
                          durationMS: Double(finished - started) / 1e6, checks: checks,
                          coolingDown: scan?.coolingDown ?? [], topologyType: description.type)
    }

    /// Checks one server now (its connection was idle past socketCheckIntervalMS, or it has
    /// none) and returns when that check has ended; at once when the server left.
    package func check(_ server: ServerAddress) {
        var baseline: Int?
        loop.perform {
            guard let monitor = core.value?.monitor(for: server) else { return }
            baseline = monitor.checksCompleted
            monitor.requestImmediateCheck()
        }
        guard let baseline else { return }
        loop.run(until: nil) {
            guard let monitor = core.value?.monitor(for: server) else { return true }
            return !monitor.isCheckInFlight && monitor.checksCompleted > baseline
        }
        let outcome = loop.perform { core.value?.monitor(for: server)?.lastCheckOutcome }
        if let outcome {
            schedule.checkEnded(server, networkError: outcome == .failed(networkError: true), at: MonotonicClock.nanoseconds())
        }
    }

    /// Runs the loop until a check of `server` in flight (one the loop started by itself: a
    /// connection found closed, the one retry) has ended.
    package func waitForCheck(of server: ServerAddress) {
        loop.run(until: nil) {
            !(core.value?.monitor(for: server)?.isCheckInFlight ?? false)
        }
    }

    /// Whether a check of `server` is in flight.
    package func isChecking(_ server: ServerAddress) -> Bool {
        loop.perform { core.value?.monitor(for: server)?.isCheckInFlight ?? false }
    }

    /// Takes in what happened on the connections while nobody ran the loop (a server that
    /// closed an idle connection), without waiting.
    package func poll() {
        guard !closed else { return }
        loop.poll()
    }

    /// Runs the loop until `instant` (MonotonicClock nanoseconds): a wait between scans that
    /// still notices connections closing.
    package func wait(until instant: UInt64) {
        guard !closed, instant > MonotonicClock.nanoseconds() else { return }
        loop.run(until: instant) { false }
    }

    package func markStale() {
        schedule.markStale()
    }

    // MARK: - The application's round trips

    /// The server's open connection, when the application may use it now.
    package func connection(to server: ServerAddress) -> SharedConnectionInfo? {
        loop.perform { core.value?.monitor(for: server)?.sharedConnection }
    }

    package func markAuthenticated(_ server: ServerAddress) {
        loop.perform { core.value?.monitor(for: server)?.markAuthenticated() }
    }

    /// Closes the server's connection for the application (a reply it could not read, or a
    /// failed authentication); the next check connects anew.
    package func abandonConnection(to server: ServerAddress) {
        loop.perform { core.value?.monitor(for: server)?.abandonConnection() }
    }

    /// Sends a message (encoded, answering `requestID`) on the server's connection and runs the
    /// loop until its reply, the connection's failure or `deadline` (MonotonicClock
    /// nanoseconds; nil: no limit).
    package func roundTrip(_ bytes: [UInt8], requestID: Int32, to server: ServerAddress, deadline: UInt64?) -> SharedRoundTrip {
        var outcome: SharedRoundTrip?
        let sent = loop.perform {
            core.value?.monitor(for: server)?.sendApplicationMessage(bytes, requestID: requestID) { outcome = $0 } ?? false
        }
        guard sent else { return .noConnection }
        loop.run(until: deadline) { outcome != nil }
        if let outcome { return outcome }
        loop.perform { core.value?.monitor(for: server)?.abandonConnection() }
        return .timedOut
    }

    // MARK: - Closing

    /// Stops every monitor, closes every socket, releases the loop and closes the topology.
    /// Idempotent.
    package func close() {
        guard !closed else { return }
        closed = true
        let names = self.names
        loop.perform { names.cancelAll() }
        core.closeMonitoring(of: topology)
    }

    /// Host names looked up so far (IP literals never are).
    package var nameLookupCount: Int { loop.perform { names.lookups } }
}
