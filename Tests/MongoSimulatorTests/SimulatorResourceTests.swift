import Testing
import PoolMonitor
import MongoSimulator
import TestSupport

/// Scale and clean-up: these count the process's threads and descriptors, so they run alone.
@Suite(.serialized) struct SimulatorResourceTests {
    /// Other suites run simulators in parallel: this suite's loops have a name of their own.
    static let thread = "sim-resources"

    @Test(.timeLimit(.minutes(2))) func thousandMongosEachAnswerAHello() throws {
        let fdsBefore = ResourceCounts.openFileDescriptors()
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 1_000), threadName: Self.thread))
        let addresses = simulator.addresses
        #expect(addresses.count == 1_000)
        #expect(Set(addresses).count == 1_000)
        #expect(ResourceCounts.threads(named: Self.thread) == 1)
        let start = MonotonicClock.nanoseconds()
        var answered = 0
        for address in addresses where try simulator.hello(address)["msg"] == .string("isdbgrid") {
            answered += 1
        }
        let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
        #expect(answered == 1_000)
        #expect(seconds < 60, "1,000 hellos took \(seconds) s")
        #expect(addresses.allSatisfy { simulator.statistics(for: $0)?.hellosReceived == 1 })
        simulator.stop()
        #expect(ResourceCounts.threads(named: Self.thread) == 0)
        #expect(ResourceCounts.settle(ResourceCounts.openFileDescriptors, to: fdsBefore, within: 5) <= fdsBefore)
    }

    @Test func stopClosesEverySocketAndJoinsTheThread() throws {
        let fdsBefore = ResourceCounts.openFileDescriptors()
        do {
            let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), threadName: Self.thread))
            var clients: [SimulatorTestClient] = []
            for address in simulator.addresses {
                let client = try SimulatorTestClient(address)
                _ = try client.command(["hello": .int32(1)])
                clients.append(client)
            }
            try simulator.hang(simulator.addresses[1])
            try simulator.kill(simulator.addresses[2])
            simulator.stop()
            for client in clients { #expect(client.isClosedByServer(within: 5)) }
        }
        #expect(ResourceCounts.threads(named: Self.thread) == 0)
        #expect(ResourceCounts.settle(ResourceCounts.openFileDescriptors, to: fdsBefore, within: 5) <= fdsBefore)
    }
}
