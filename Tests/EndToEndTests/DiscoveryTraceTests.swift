import MongoClientPool
import MongoSimulator
import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The timeline a benchmark keeps of a discovery (`SDAMScenarios subject discovery-timeline`):
/// the steps are marked in the order they happen, only while a trace runs, and a trace holds
/// at most `DiscoveryTrace.capacity` marks. Other suites' pools may mark steps while a trace
/// runs here, so the checks read only this suite's own servers' marks.
@Suite(.serialized) struct DiscoveryTraceTests {
    @Test func aDiscoveryIsMarkedStepByStepInOrder() throws {
        let sim = try Deployment.replicaSet(members: 3, thread: "trace-sim")
        defer { sim.stop() }
        let seed = Deployment.address(sim.addresses[1])
        DiscoveryTrace.start()
        let pool = try ClientPool(uri: "mongodb://\(seed)/?replicaSet=rs0&serverMonitoringMode=poll")
        let known = Deployment.waitFor(pool.topology) { $0.servers.count == 3 && $0.servers.values.allSatisfy { $0.type != .unknown } }
        pool.close()
        let (marks, dropped) = DiscoveryTrace.stop()
        #expect(known != nil, "the set was not discovered")
        // Other suites' pools may mark steps meanwhile; this suite's marks must all be there.
        #expect(dropped == 0 || marks.count == DiscoveryTrace.capacity)
        let seedSteps = marks.filter { $0.server == seed }.map { "\($0.step)" }
        let expected = ["core: check starts", "connection: connect called", "monitor: handshake to build",
                        "connection: message encoded", "connection: written", "connection: bytes read",
                        "connection: frame decoded", "core: description made", "topology: lock taken"]
        var position = seedSteps.startIndex
        for step in expected {
            let found = seedSteps[position...].firstIndex(of: step)
            #expect(found != nil, "no '\(step)' for the seed after its earlier steps: \(seedSteps)")
            position = found.map { $0 + 1 } ?? position
        }
        // The new members' checks start only after the seed's reply named them.
        let seedReply = try #require(marks.firstIndex { $0.server == seed && "\($0.step)" == "core: description made" })
        for member in sim.addresses.map(Deployment.address) where member != seed {
            let start = try #require(marks.firstIndex { $0.server == member && "\($0.step)" == "core: check starts" })
            #expect(start > seedReply, "\(member) was checked before the seed's reply was read")
        }
        // Time runs forward through the trace (the clock is read under the trace's lock).
        let ours = marks.filter { mark in mark.server.map { sim.addresses.contains($0.description) } ?? false }
        #expect(zip(ours, ours.dropFirst()).allSatisfy { $0.nanoseconds <= $1.nanoseconds })
    }

    @Test func marksOnlyWhileTracingAndAtMostTheCapacity() {
        DiscoveryTrace.start()
        for _ in 0..<(DiscoveryTrace.capacity + 10) { DiscoveryTrace.mark("test: step") }
        let (marks, dropped) = DiscoveryTrace.stop()
        #expect(marks.count == DiscoveryTrace.capacity)
        #expect(dropped >= 10)
        DiscoveryTrace.mark("test: after stop")
        DiscoveryTrace.start()
        let (afterRestart, _) = DiscoveryTrace.stop()
        #expect(!afterRestart.contains { "\($0.step)" == "test: after stop" }, "a step after stop() was kept")
    }
}
