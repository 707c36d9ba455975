import PoolMonitor

/// What a pool needs of the thing that monitors its deployment: the topology it keeps current,
/// and a way to stop it. The real one is PoolMonitor's `TopologyMonitor` (one libev thread);
/// tests hand in a topology they feed themselves.
protocol TopologyMonitoring: Sendable {
    var topology: Topology { get }
    /// Stops monitoring, closes every monitoring socket, joins the monitor's thread and closes
    /// the topology, so threads waiting on it fail with `Topology.WaitError.closed`.
    func close()
}

extension ClientPool {
    /// The one place a pool creates its monitor. No network I/O, never waits for a server.
    static func startMonitor(
        topologySettings: TopologySettings,
        settings: ClientPoolSettings
    ) throws(ClientPoolError) -> any TopologyMonitoring {
        // TopologyMonitor (PoolMonitor/Monitor) is not on this branch yet: until it is, the
        // topology is created but nothing checks its servers, so selection times out.
        UnmonitoredTopology(topology: Topology(settings: topologySettings))
    }
}

/// A topology nobody monitors: the stand-in until `TopologyMonitor` is merged.
struct UnmonitoredTopology: TopologyMonitoring {
    let topology: Topology
    func close() {}
}
