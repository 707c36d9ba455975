import Testing
import MongoSimulator

/// `sdam simulate` answers a few handshakes of its own before it says `ready`, so that a
/// benchmark's first client is not charged for the simulator's first-use costs.
@Suite struct SimulatorWarmUpTests {
    @Test func answersAnOpMsgAndALegacyHandshakeOnEachOfTheFirstThreeServers() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 4)))
        defer { simulator.stop() }
        #expect(SimulatorWarmUp.run(addresses: simulator.addresses) == [])
        for (i, address) in simulator.addresses.enumerated() {
            let statistics = try #require(simulator.statistics(for: address))
            #expect(statistics.connectionsAccepted == (i < 3 ? 2 : 0), "\(address)")
            #expect(statistics.hellosReceived == (i < 3 ? 2 : 0), "\(address)")
        }
    }

    @Test func namesAServerItCouldNotReach() {
        // Nothing listens on port 1 of the loopback: both connects are refused, and said so.
        let failures = SimulatorWarmUp.run(addresses: ["127.0.0.1:1"])
        #expect(failures.count == 2)
        #expect(failures.allSatisfy { $0.hasPrefix("127.0.0.1:1: connect failed") }, "\(failures)")
        #expect(SimulatorWarmUp.run(addresses: ["no-port"]) == ["no-port: not a host:port address", "no-port: not a host:port address"])
    }
}
