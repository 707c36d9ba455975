import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator
import TestSupport

/// Scale and clean-up: these count the process's threads and sockets, so they run alone.
///
/// Descriptors are checked per port (`SimulatorSockets`), not as a process-wide count, which
/// other suites running in parallel move.
@Suite(.serialized) struct SimulatorResourceTests {
    /// Other suites run simulators in parallel: this suite's loops have a name of their own.
    static let thread = "sim-resources"

    @Test(.timeLimit(.minutes(2))) func thousandMongosEachAnswerAHello() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 1_000), threadName: Self.thread))
        let addresses = simulator.addresses
        let ports = Set(addresses.compactMap { ServerAddress($0)?.port })
        #expect(SimulatorSockets.openDescriptors(onPorts: ports) == 1_000)
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
        #expect(seconds < 90, "1,000 hellos took \(seconds) s")
        #expect(addresses.allSatisfy { simulator.statistics(for: $0)?.hellosReceived == 1 })
        simulator.stop()
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: Self.thread) }, to: 0) == 0)
        #expect(SimulatorSockets.openDescriptors(onPorts: ports) == 0)
    }

    @Test(.timeLimit(.minutes(2))) func thousandParkedStreamsCostATimerEach() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 1_000), topologyVersion: true, threadName: Self.thread))
        let addresses = simulator.addresses
        let ports = Set(addresses.compactMap { ServerAddress($0)?.port })
        var clients: [SimulatorTestClient] = []
        for address in addresses {
            let client = try SimulatorTestClient(address)
            let version = try #require(try client.command(["hello": .int32(1)])["topologyVersion"]?.documentValue)
            _ = try client.sendAwaitableHello(version, maxAwaitTimeMS: 60_000, exhaust: true)
            clients.append(client)
        }
        #expect(ResourceCounts.threads(named: Self.thread) == 1)
        // Every stream is parked; the loop still answers at once.
        var slowest = 0.0
        for address in addresses.prefix(20) {
            let start = MonotonicClock.nanoseconds()
            _ = try simulator.hello(address)
            slowest = max(slowest, Double(MonotonicClock.nanoseconds() - start) / 1e6)
        }
        #expect(slowest < 100, "a hello beside 1,000 parked streams took \(slowest) ms")
        #expect(clients.allSatisfy { $0.staysSilent(for: 0) })
        simulator.stop()
        #expect(clients.allSatisfy { $0.isClosedByServer(within: 5) })
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: Self.thread) }, to: 0) == 0)
        #expect(SimulatorSockets.openDescriptors(onPorts: ports) == 0)
    }

    @Test func stopClosesEverySocketAndJoinsTheThread() throws {
        var ports: Set<UInt16> = []
        var killedPort: UInt16 = 0
        do {
            let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), threadName: Self.thread))
            ports = Set(simulator.addresses.compactMap { ServerAddress($0)?.port })
            var clients: [SimulatorTestClient] = []
            for address in simulator.addresses.prefix(2) {
                let client = try SimulatorTestClient(address)
                _ = try client.command(["hello": .int32(1)])
                clients.append(client)
            }
            try simulator.hang(simulator.addresses[1])
            // No connection to this one: closing it leaves no TIME_WAIT on its port.
            killedPort = try #require(ServerAddress(simulator.addresses[2])?.port)
            try simulator.kill(simulator.addresses[2])
            #expect(!SimulatorSockets.canBindExclusively(port: killedPort), "a killed server keeps its port")
            // Two listeners and two accepted connections (the reservation is not listed).
            #expect(SimulatorSockets.openDescriptors(onPorts: ports) == 4)
            simulator.stop()
            for client in clients { #expect(client.isClosedByServer(within: 5)) }
        }
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: Self.thread) }, to: 0) == 0)
        #expect(SimulatorSockets.openDescriptors(onPorts: ports) == 0)
        #expect(SimulatorSockets.canBindExclusively(port: killedPort))
    }
}
