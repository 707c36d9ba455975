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
}

extension TopologyMonitor: TopologyMonitoring {}

extension ClientPool {
    /// The one place a pool creates its monitor: it starts the monitor's thread and returns.
    /// No network I/O, never waits for a server.
    static func startMonitor(
        settings: ClientSettings,
        events: EventPublisher
    ) throws(ClientPoolError) -> any TopologyMonitoring {
        do {
            return try TopologyMonitor(settings: settings.topology, options: settings.monitoring, events: events)
        } catch let error as TopologySettingsError {
            throw .unsupportedConfiguration(error.description)
        } catch {
            throw .monitorStartFailed("\(error)")
        }
    }
}
