import Foundation
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The monitor loop against servers the test starts on loopback.
@Suite(.serialized) struct TopologyMonitorTests {
    /// Waits (bounded) until the topology satisfies `condition`.
    static func waitFor(_ topology: Topology, seconds: Double = 10, _ condition: (TopologyDescription) -> Bool) -> TopologyDescription? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var snapshot = topology.snapshot
        while true {
            if condition(snapshot.description) { return snapshot.description }
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else { return nil }
            snapshot = next
        }
    }

    @Test func aStartedLoopIsJoinedWhenTheMonitorRefusesItsSettings() throws {
        // ClientPool starts the loop before it parses (issue 17) and hands it over; settings
        // the monitor refuses must not leave its thread running.
        let loop = try TopologyMonitor.startedLoop()
        let twoSeeds = [ServerAddress(host: "127.0.0.1", port: 1), ServerAddress(host: "127.0.0.1", port: 2)]
        #expect(throws: TopologySettingsError.self) {
            _ = try TopologyMonitor(settings: TopologySettings(seeds: twoSeeds, directConnection: true),
                                    loop: loop, beforeOpening: { _ in })
        }
        #expect(loop.isReleased, "shut down: its thread joined, libev's loop released")
    }

    @Test func discoversAStandaloneAndPublishesEventsInOrder() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let events = EventPublisher()
        let seen = ConditionLock<[String]>([])
        events.addHandler { event in
            switch event {
            case .sdam(let e): seen.withLock { $0.append(e.specName) }
            case .serverHeartbeatStarted: seen.withLock { $0.append("heartbeat_started") }
            case .serverHeartbeatSucceeded(_, let ms, _, let awaited):
                #expect(ms >= 0 && !awaited)
                seen.withLock { $0.append("heartbeat_succeeded") }
            case .serverHeartbeatFailed: seen.withLock { $0.append("heartbeat_failed") }
            case .pool, .srv: break
            }
        }
        let settings = TopologySettings(seeds: [server.address])
        let monitor = try TopologyMonitor(settings: settings, events: events)
        let found = Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .standalone }
        #expect(found?.type == .single)
        #expect(found?.servers[server.address]?.roundTripTimeMS != nil)
        monitor.close()
        events.flush()
        let names = seen.withLock { $0 }
        #expect(Array(names.prefix(4)) == ["topology_opening_event", "topology_description_changed_event", "server_opening_event", "heartbeat_started"])
        #expect(names.contains("heartbeat_succeeded"))
        #expect(names.last == "topology_closed_event")
    }

    @Test func unreachableServerBecomesUnknownWithAnErrorNamingIt() throws {
        let listener = try LoopbackListener()
        let address = ServerAddress(host: "127.0.0.1", port: listener.port)
        listener.close()
        let start = MonotonicClock.nanoseconds()
        let monitor = try TopologyMonitor(settings: TopologySettings(seeds: [address]))
        let createdMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(createdMS < 1_000, "creating the monitor took \(createdMS) ms: it must not wait for servers")
        let failed = Self.waitFor(monitor.topology) { $0.servers[address]?.error != nil }
        let error = failed?.servers[address]?.error ?? ""
        #expect(error.contains(address.description), "error should name the server: \(error)")
        #expect(error.contains("refused") || error.contains("Connection"), "error should say what happened: \(error)")
        monitor.close()
    }

    @Test func serverClosingTheIdleConnectionIsCheckedAtOnce() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let monitor = try TopologyMonitor(settings: TopologySettings(seeds: [server.address], heartbeatFrequencyMS: 60_000))
        defer { monitor.close() }
        _ = Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .standalone }
        let hellosBefore = server.helloCount
        Thread.sleep(forTimeInterval: 0.6)  // past the 500 ms floor since the first check
        let dropped = MonotonicClock.nanoseconds()
        server.dropConnections()
        let deadline = dropped + 5_000_000_000
        while server.helloCount == hellosBefore, MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.005)
        }
        let elapsedMS = Double(MonotonicClock.nanoseconds() - dropped) / 1e6
        #expect(server.helloCount > hellosBefore, "no re-check after the server closed the connection")
        #expect(elapsedMS < 2_000, "re-check took \(elapsedMS) ms with a 60 s heartbeat")
    }

    @Test func hungServerTimesOutAndDelaysNoOtherServer() throws {
        let hung = try LoopbackListener()  // accepts (backlog) but never replies
        defer { hung.close() }
        let healthy = try FakeMongoServer { _ in
            var hello = FakeMongoServer.standaloneHello()
            hello["msg"] = .string("isdbgrid")
            return hello
        }
        defer { healthy.stop() }
        let hungAddress = ServerAddress(host: "127.0.0.1", port: hung.port)
        let settings = TopologySettings(seeds: [hungAddress, healthy.address])
        let monitor = try TopologyMonitor(settings: settings, options: MonitorOptions(connectTimeoutMS: 300))
        defer { monitor.close() }
        let start = MonotonicClock.nanoseconds()
        let mongos = Self.waitFor(monitor.topology) { $0.servers[healthy.address]?.type == .mongos }
        let healthyMS = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(mongos != nil)
        #expect(healthyMS < 250, "the healthy server waited \(healthyMS) ms behind the hung one")
        let timedOut = Self.waitFor(monitor.topology) { $0.servers[hungAddress]?.error != nil }
        let error = timedOut?.servers[hungAddress]?.error ?? ""
        #expect(error.contains("connectTimeoutMS") && error.contains(hungAddress.description), "\(error)")
    }

    @Test func closeReleasesEverySocketAndTheThread() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let options = MonitorOptions(threadName: "tm-close-test")
        for _ in 0..<5 {
            let monitor = try TopologyMonitor(settings: TopologySettings(seeds: [server.address]), options: options)
            _ = Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .standalone }
            #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "tm-close-test") }, to: 1) == 1)
            let open = monitor.onLoop { $0?.monitor(for: server.address)?.hasOpenConnection } ?? nil
            #expect(open == true)
            #expect(ResourceCounts.openConnections(toPort: server.port) == 1, "one monitoring connection")
            #expect(monitor.onLoop { $0?.monitoredAddresses.count } == 1)
            monitor.close()
            #expect(throws: Topology.WaitError.self) { try monitor.topology.waitForChange(after: 0, until: nil) }
        }
            #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "tm-close-test") }, to: 0) == 0)
            #expect(ResourceCounts.openConnections(toPort: server.port) == 0)
    }
}
