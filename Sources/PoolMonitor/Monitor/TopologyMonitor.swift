import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
#if canImport(Glibc)
import Glibc
#endif

/// Discovers and monitors a deployment with one thread: a libev loop that holds a
/// non-blocking socket to every known server and schedules each server's checks.
///
/// Creating one starts the loop thread and opens the topology; no network I/O happens on the
/// caller's thread and nothing waits for a server, so it succeeds when every server is down
/// (architecture rule 4). `close()` stops every monitor, closes every socket, joins the thread
/// and closes the topology, which fails threads waiting on it.
public final class TopologyMonitor: Sendable {
    public let topology: Topology
    public let options: MonitorOptions
    package let loop: MonitorLoop
    private let core: LoopBound<MonitorCore?>
    private let closed = ConditionLock(false)

    /// - Parameters:
    ///   - settings: seeds and SDAM options (validated here).
    ///   - options: connect timeout and application name for the handshakes.
    ///   - events: where SDAM and heartbeat events go, off the loop thread.
    ///   - tls: the TLS context of every monitoring connection; nil for plaintext.
    /// - Throws: `TopologySettingsError` for an invalid combination, `MonitorLoop.CreationError`
    ///   when the loop thread cannot start.
    public convenience init(
        settings: TopologySettings, options: MonitorOptions = MonitorOptions(), events: EventPublisher = EventPublisher(),
        tls: TLSContext? = nil
    ) throws {
        try self.init(settings: settings, options: options, events: events, tls: tls, beforeOpening: { _ in })
    }

    /// `init(settings:options:events:)`, with `beforeOpening` run on the topology before the
    /// monitor opens it (the client pool connects its connection pools there).
    ///
    /// A `mongodb+srv://` topology (`settings.srv`) starts with no servers; its records are
    /// read on `records` (off the loop) once the loop runs, and `acceptSeedlist` turns them
    /// into the topology's settings (by default: the seeds and the TXT options, validated).
    package convenience init(
        settings: TopologySettings,
        options: MonitorOptions = MonitorOptions(),
        events: EventPublisher = EventPublisher(),
        resolver: BoundedResolver? = nil,
        records: RecordResolver? = nil,
        acceptSeedlist: SeedlistAcceptor? = nil,
        tls: TLSContext? = nil,
        loop: MonitorLoop? = nil,
        beforeOpening: (Topology) -> Void
    ) throws {
        try self.init(settings: settings, options: options, events: events, resolver: resolver, records: records,
                      acceptSeedlist: acceptSeedlist, usesTLS: tls != nil, connectionFactory: { MonitorConnection.factory(tls: tls) },
                      loop: loop, beforeOpening: beforeOpening)
    }

    /// What DNS gave, as the topology's settings: the seeds and the TXT options, validated.
    static func defaultAcceptor(_ topology: Topology) -> SeedlistAcceptor {
        { resolved throws(SeedlistError) in
            let settings = topology.settings.resolved(by: resolved)
            do throws(TopologySettingsError) {
                try settings.validate()
            } catch {
                throw .unusable(name: topology.settings.srv?.srvName ?? "the SRV name", reason: error.description)
            }
            return settings
        }
    }

    /// The designated initializer; `connectionFactory` makes the loop's connection factory
    /// (called once, on the loop thread): the seam where a test's or TLS connections slot in.
    /// `loop`: a loop whose thread the caller started already (`startedLoop()`), which the
    /// monitor owns from here on — also when this throws; nil starts one.
    init(
        settings: TopologySettings,
        options: MonitorOptions,
        events: EventPublisher,
        resolver: BoundedResolver?,
        records: RecordResolver? = nil,
        acceptSeedlist: SeedlistAcceptor? = nil,
        usesTLS: Bool = false,
        connectionFactory: @escaping @Sendable () -> MonitorConnectionFactory,
        loop startedLoop: MonitorLoop? = nil,
        beforeOpening: (Topology) -> Void
    ) throws {
        do {
            try settings.validate()
        } catch {
            startedLoop?.shutdown()
            throw error
        }
        let topology = Topology(settings: settings, events: events)
        beforeOpening(topology)
        DiscoveryTrace.mark("monitor: topology made")
        let loop: MonitorLoop
        if let startedLoop {
            loop = startedLoop
            if options.threadName != Self.startedLoopName { loop.nameThread(options.threadName) }
        } else {
            loop = try MonitorLoop(name: options.threadName)
        }
        DiscoveryTrace.mark("monitor: loop thread created")
        let core = LoopBound<MonitorCore?>(nil, loop: loop)
        self.topology = topology
        self.options = options
        self.loop = loop
        self.core = core
        topology.setMonitorSink { actions in
            loop.execute { core.value?.perform(actions) }
        }
        let plainHandshake = PlainHandshake(appName: options.appName)
        loop.execute {
            DiscoveryTrace.mark("loop: first work runs")
            let monitorCore = MonitorCore(loop: loop, topology: topology, options: options, resolution: .bounded(resolver),
                                          usesTLS: usesTLS, connectionFactory: connectionFactory(), plainHandshake: plainHandshake)
            core.value = monitorCore
            DiscoveryTrace.mark("loop: core made")
            topology.open(act: { monitorCore.perform($0) })
            DiscoveryTrace.mark("loop: topology opened, seeds' checks started")
            monitorCore.startSeedlistDiscovery(records: records, accept: acceptSeedlist ?? Self.defaultAcceptor(topology))
        }
        // The handshake is encoded here, on the caller's thread while the loop thread opens
        // the topology and connects, rather than on the loop between the seed's connect and
        // its handshake (`PlainHandshake`). Its host metadata is read once per process (uname,
        // os-release, the environment: a started loop reads it while the caller parses); that
        // is local and bounded (a few hundred bytes of one file), and rule 4's "no I/O in
        // constructors" is about the network, which this never touches.
        _ = plainHandshake.bytes(loadBalanced: settings.loadBalanced)
    }

    /// Starts the loop thread a monitor will run on, before its settings are known: the
    /// thread's start (0.1–0.15 ms from `pthread_create` to running, in a process's first
    /// pool) then overlaps the caller's parsing of the connection string instead of delaying
    /// the seeds' connects (issue 17). While it waits for its monitor, the thread reads the
    /// handshake's host metadata (`HostEnvironment`), which every monitor's first handshake
    /// needs and which depends on no setting. Hand it to `init(…loop:…)`, or shut it down.
    package static func startedLoop() throws -> MonitorLoop {
        let loop = try MonitorLoop(name: startedLoopName)
        loop.execute { _ = HostEnvironment.current }
        return loop
    }

    /// The name a loop from `startedLoop()` runs under until its monitor names it.
    static let startedLoopName = SDAMDefaults.monitorThreadName

    /// Stops monitoring, closes every monitoring socket, joins the loop thread and closes the
    /// topology (TopologyClosed is published; selection waiters fail). Idempotent.
    public func close() {
        guard closed.setOnce() else { return }
        core.closeMonitoring(of: topology)
    }

    /// Runs `body` on the loop thread with the monitor's core and waits for it; for tests and
    /// diagnostics (how many servers are monitored, how many sockets are open).
    func onLoop<T: Sendable>(_ body: @escaping @Sendable (MonitorCore?) -> T) -> T? {
        let result = ConditionLock<T?>(nil)
        let done = ConditionLock(false)
        let core = self.core
        let accepted = loop.execute {
            result.withLock { $0 = body(core.value) }
            done.withLock { $0 = true }
            done.broadcast()
        }
        guard accepted else { return nil }
        _ = done.wait(until: nil) { $0 ? true : nil }
        return result.withLock { $0 }
    }

    deinit { close() }
}
