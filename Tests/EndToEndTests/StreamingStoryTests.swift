import MongoClientPool
import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// Streaming monitoring against a simulated replica set that pushes its changes
/// (`topologyVersion` on): failover noticed in about one round trip with the default 10 s
/// heartbeat and an idle pool.
@Suite(.serialized) struct StreamingStoryTests {
    typealias D = Deployment

    static func streamingSet(electionDelayMS: Int = 0) throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(
            kind: .replicaSet(name: "rs0", members: 3), electionDelayMS: electionDelayMS, topologyVersion: true, threadName: "e2e-stream-sim"))
    }

    /// Waits until every member's monitor streams.
    static func waitUntilStreaming(_ monitor: TopologyMonitor, _ addresses: [ServerAddress]) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while MonotonicClock.nanoseconds() < deadline {
            let streaming = monitor.onLoop { core in addresses.allSatisfy { core?.monitor(for: $0)?.isStreaming == true } } ?? false
            if streaming { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return false
    }

    @Test func stepdownSeenWithinAHundredMillisecondsWithTheDefaultHeartbeat() throws {
        let sim = try Self.streamingSet()
        defer { sim.stop() }
        let addresses = sim.addresses.map(D.address)
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [addresses[0]], replicaSet: "rs0"),
            options: MonitorOptions(threadName: "e2e-stream", serverMonitoringMode: .stream))
        defer { monitor.close() }
        let ready = D.waitFor(monitor.topology, D.settled)
        let oldPrimary = try #require(ready.flatMap(D.primary(of:)))
        #expect(Self.waitUntilStreaming(monitor, addresses))
        let stepped = MonotonicClock.nanoseconds()
        try sim.stepDown()
        let after = D.waitFor(monitor.topology, seconds: 5) { t in D.primary(of: t).map { $0 != oldPrimary } ?? false }
        let ms = D.elapsedMS(since: stepped)
        print("figure: streaming, idle, 10 s heartbeat: stepdown -> new primary selected after \(ms) ms")
        #expect(after != nil)
        #expect(ms < 100, "the stepdown reached the topology after \(ms) ms")
        // Two sockets per server (streaming + RTT), one thread for all.
        Thread.sleep(forTimeInterval: 0.1)
        for address in addresses {
            #expect(ResourceCounts.openConnections(toPort: address.port) == 2, "\(address)")
        }
        #expect(ResourceCounts.threads(named: "e2e-stream") == 1)
    }

    @Test func waitingWriteProceedsRightAfterTheNewPrimaryPushesItsReply() throws {
        let sim = try Self.streamingSet(electionDelayMS: 300)
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&serverMonitoringMode=stream")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        _ = try client.runWriteCommand(insert, database: "test")
        Thread.sleep(forTimeInterval: 0.2)
        let stepped = MonotonicClock.nanoseconds()
        try sim.stepDown()  // the new primary is elected 300 ms later
        var reply: BSONDocument?
        while reply == nil, D.elapsedMS(since: stepped) < 5_000 {
            reply = try? client.runWriteCommand(insert, database: "test")
        }
        let ms = D.elapsedMS(since: stepped)
        print("figure: streaming: stepdown -> waiting write succeeded after \(ms) ms (300 ms election)")
        #expect(reply?["ok"]?.isTruthy == true)
        #expect(ms >= 300 && ms < 300 + 150, "the waiting write succeeded \(ms) ms after the stepdown")
    }

    @Test func applicationNetworkErrorCancelsTheAwaitedCheckAtOnce() throws {
        let sim = try Self.streamingSet()
        defer { sim.stop() }
        let addresses = sim.addresses.map(D.address)
        let cancelled = ConditionLock<[String]>([])
        let events = EventPublisher()
        events.addHandler { event in
            if case .serverHeartbeatFailed(_, _, let error, true) = event { cancelled.withLock { $0.append(error) } }
        }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: addresses, replicaSet: "rs0"),
            options: MonitorOptions(serverMonitoringMode: .stream), events: events)
        defer { monitor.close() }
        let ready = D.waitFor(monitor.topology, D.settled)
        let primary = try #require(ready.flatMap(D.primary(of:)))
        #expect(Self.waitUntilStreaming(monitor, addresses))
        let generation = monitor.topology.poolGeneration(for: primary)
        monitor.topology.handle(ApplicationError(
            address: primary, generation: generation, maxWireVersion: 21, phase: .afterHandshakeCompletes,
            kind: .network, detail: "connection reset by peer"))
        // The loop closes the streaming connection in its next turn.
        let streamingClosed = monitor.onLoop { $0?.monitor(for: primary)?.isStreaming == false } ?? false
        #expect(streamingClosed == true)
        #expect(monitor.topology.description.servers[primary]?.type == .unknown)
        events.flush()
        #expect(cancelled.withLock { $0 }.contains { $0.contains("check cancelled") && $0.contains(primary.description) })
    }

    @Test func rttMonitorKeepsMeasuringWhileTheStreamWaits() throws {
        let sim = try Self.streamingSet()
        defer { sim.stop() }
        let addresses = sim.addresses.map(D.address)
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: addresses, replicaSet: "rs0", heartbeatFrequencyMS: 500),
            options: MonitorOptions(serverMonitoringMode: .stream))
        defer { monitor.close() }
        _ = D.waitFor(monitor.topology, D.settled)
        #expect(Self.waitUntilStreaming(monitor, addresses))
        let before = monitor.onLoop { $0?.monitor(for: addresses[0])?.rttSamples ?? 0 } ?? 0
        Thread.sleep(forTimeInterval: 1.6)
        let after = monitor.onLoop { $0?.monitor(for: addresses[0])?.rttSamples ?? 0 } ?? 0
        #expect(after - before >= 2, "RTT samples \(before) -> \(after) in 1.6 s at a 500 ms heartbeat")
        #expect(monitor.onLoop { $0?.monitor(for: addresses[0])?.isStreaming } == true)
    }
}
