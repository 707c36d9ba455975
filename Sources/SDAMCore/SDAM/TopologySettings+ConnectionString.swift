import MongoBSON

extension TopologySettings {
    /// The SDAM settings a connection string asks for: its hosts as seeds and the options that
    /// choose the initial topology type and the monitoring and selection intervals. Options the
    /// string leaves out take the spec's defaults.
    ///
    /// - Throws: `TopologySettingsError` when a host is a UNIX domain socket (not monitored by
    ///   this driver yet), when the string is `mongodb+srv://` (SRV resolution is not supported
    ///   yet), or when the combination breaks the spec's allowed configurations.
    public init(connectionString: ConnectionString) throws(TopologySettingsError) {
        if connectionString.isSRV {
            throw TopologySettingsError("mongodb+srv:// is not supported yet: SRV resolution is not implemented; list the hosts with mongodb://")
        }
        var seeds: [ServerAddress] = []
        for host in connectionString.hosts {
            guard let address = host.serverAddress else {
                throw TopologySettingsError("host \(host) is a UNIX domain socket, which this driver does not monitor yet")
            }
            seeds.append(address)
        }
        let options = connectionString.options
        self.init(
            seeds: seeds,
            replicaSet: options.replicaSet,
            directConnection: options.directConnection,
            loadBalanced: options.loadBalanced ?? false,
            heartbeatFrequencyMS: options.heartbeatFrequencyMS ?? TopologySettings.defaultHeartbeatFrequencyMS,
            localThresholdMS: options.localThresholdMS ?? 15,
            serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 30_000
        )
        try validate()
    }
}
