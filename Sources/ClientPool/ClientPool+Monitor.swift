import Logging
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// What a pool needs of the thing that monitors its deployment: the topology it keeps current,
/// and a way to stop it. The real one is PoolMonitor's `TopologyMonitor` (one libev thread);
/// tests hand in a topology they feed themselves.
protocol TopologyMonitoring: Sendable {
    var topology: Topology { get }
    /// Stops monitoring, closes every monitoring socket, joins the monitor's thread and closes
    /// the topology, so threads waiting on it fail with `Topology.WaitError.closed`.
    func close()
    /// The monitor's event loop, if it has one (the async face may share it).
    var monitorLoop: MonitorLoop? { get }
}

extension TopologyMonitoring {
    var monitorLoop: MonitorLoop? { nil }
}

extension TopologyMonitor: TopologyMonitoring {
    var monitorLoop: MonitorLoop? { loop }
}

extension ClientPool {
    /// The one place a pool creates its monitor: it starts the monitor's thread and returns.
    /// No network I/O, never waits for a server. The servers' connection pools are connected to
    /// the topology before it opens, so they see every server join.
    ///
    /// A `mongodb+srv://` pool's monitor reads the records in the background; `configuration`
    /// is completed with them before the topology takes its seeds.
    static func startMonitor(
        configuration: PoolConfiguration,
        events: EventPublisher,
        logger: Logger,
        resolvers: Resolvers = Resolvers(),
        loop: MonitorLoop? = nil
    ) throws(ClientPoolError) -> (any TopologyMonitoring, ServerPools) {
        let settings = configuration.settings
        do {
            let pools = ConditionLock<ServerPools?>(nil)
            let monitor = try TopologyMonitor(
                settings: settings.topology, options: settings.monitoring, events: events,
                resolver: resolvers.addresses, records: resolvers.records,
                acceptSeedlist: { resolved throws(SeedlistError) in try configuration.accept(resolved, logger: logger) },
                tls: configuration.security.tls,
                loop: loop
            ) { topology in
                let made = ServerPools(topology: topology, configuration: configuration, events: events)
                topology.setPoolSink { commands in made.handle(commands) }
                pools.withLock { $0 = made }
            }
            return (monitor, pools.withLock { $0! })
        } catch let error as TopologySettingsError {
            throw .unsupportedConfiguration(error.description)
        } catch {
            throw .monitorStartFailed("\(error)")
        }
    }
}
