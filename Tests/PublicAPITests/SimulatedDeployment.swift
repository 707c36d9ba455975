import MongoSimulator

/// The deployment the public-API test talks to, started here so that the test's own file
/// needs no module but `MongoClientPool`.
enum SimulatedDeployment {
    /// Starts a three-member replica set on loopback; `stop` ends it.
    static func replicaSet() throws -> (uri: String, stop: @Sendable () -> Void) {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), threadName: "api-sim"))
        return ("mongodb://\(simulator.addresses[1])/?replicaSet=rs0&serverSelectionTimeoutMS=5000", { simulator.stop() })
    }
}
