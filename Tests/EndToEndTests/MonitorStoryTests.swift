import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The story the user's documents tell, told by the monitor against a simulated replica set on
/// loopback: startup, discovery from a seed list, steady state, crisis, resolution.
@Suite(.serialized) struct MonitorStoryTests {
    typealias D = Deployment

    @Test func discoveryFromOneSecondaryFindsThePrimaryAndEveryMember() throws {
        let sim = try D.replicaSet(members: 5)
        defer { sim.stop() }
        let state = try sim.replicaSetState()
        let secondary = try #require(sim.addresses.first { $0 != state?.primary })
        let start = MonotonicClock.nanoseconds()
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [D.address(secondary)], replicaSet: "rs0"),
            options: MonitorOptions(serverMonitoringMode: .poll))
        defer { monitor.close() }
        let withPrimary = D.waitFor(monitor.topology) { D.primary(of: $0) != nil }
        let primaryMS = D.elapsedMS(since: start)
        let all = D.waitFor(monitor.topology) { t in
            t.servers.count == 5 && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
        }
        let allMS = D.elapsedMS(since: start)
        print("figure: discovery from one secondary seed, 5 members: primary known after \(primaryMS) ms, all members after \(allMS) ms")
        #expect(withPrimary.flatMap(D.primary(of:))?.description == state?.primary)
        #expect(all?.type == .replicaSetWithPrimary)
        #expect(primaryMS < 2_000 && allMS < 2_000, "primary after \(primaryMS) ms, all after \(allMS) ms")
    }

    @Test func steadyStateChecksEachServerOncePerHeartbeat() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: sim.addresses.map(D.address), replicaSet: "rs0", heartbeatFrequencyMS: 500),
            options: MonitorOptions(serverMonitoringMode: .poll))
        defer { monitor.close() }
        _ = D.waitFor(monitor.topology, D.settled)
        Thread.sleep(forTimeInterval: 0.3)
        let before = sim.addresses.map { sim.statistics(for: $0)?.hellosReceived ?? 0 }
        Thread.sleep(forTimeInterval: 3.0)
        let after = sim.addresses.map { sim.statistics(for: $0)?.hellosReceived ?? 0 }
        for (i, address) in sim.addresses.enumerated() {
            let checks = after[i] - before[i]
            // 3 s at one check per 500 ms after the previous ended: 5 or 6, never more.
            #expect((4...6).contains(checks), "\(address): \(checks) checks in 3 s with a 500 ms heartbeat")
        }
    }

    @Test func killedPrimaryIsNoticedThroughTheIdleConnectionAndTheNewOneFound() throws {
        let sim = try D.replicaSet(members: 3, electionDelayMS: 200)
        defer { sim.stop() }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: sim.addresses.map(D.address), replicaSet: "rs0"),
            options: MonitorOptions(serverMonitoringMode: .poll))
        defer { monitor.close() }
        let ready = D.waitFor(monitor.topology, D.settled)
        let oldPrimary = try #require(ready.flatMap(D.primary(of:)))
        Thread.sleep(forTimeInterval: 0.6)  // past the 500 ms floor since discovery
        let killed = MonotonicClock.nanoseconds()
        try sim.kill(oldPrimary.description)
        // The default 10 s heartbeat: only the dead connection can tell the monitor this soon.
        let noticed = D.waitFor(monitor.topology, seconds: 5) { $0.servers[oldPrimary]?.type == .unknown }
        let noticedMS = D.elapsedMS(since: killed)
        #expect(noticed != nil)
        #expect(noticedMS < 1_000, "the dead primary was noticed after \(noticedMS) ms")
        let error = noticed?.servers[oldPrimary]?.error ?? ""
        #expect(error.contains(oldPrimary.description), "\(error)")
        // A client waiting for a primary asks for checks; the new primary is found soon after
        // the 200 ms election.
        let resolved = D.waitFor(monitor.topology, seconds: 5, requestChecks: true) { t in
            D.primary(of: t).map { $0 != oldPrimary } ?? false
        }
        let resolvedMS = D.elapsedMS(since: killed)
        print("figure: killed primary noticed after \(noticedMS) ms (10 s heartbeat); new primary known \(resolvedMS) ms after the kill (200 ms election)")
        #expect(resolved != nil)
        #expect(resolvedMS < 200 + 1_500, "new primary known \(resolvedMS) ms after the kill")
    }

    @Test func hungPrimaryTimesOutAndOthersKeepTheirRhythm() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: sim.addresses.map(D.address), replicaSet: "rs0", heartbeatFrequencyMS: 500),
            options: MonitorOptions(connectTimeoutMS: 400, serverMonitoringMode: .poll))
        defer { monitor.close() }
        let ready = D.waitFor(monitor.topology, D.settled)
        let primary = try #require(ready.flatMap(D.primary(of:)))
        let others = sim.addresses.filter { $0 != primary.description }
        let before = others.map { sim.statistics(for: $0)?.hellosReceived ?? 0 }
        let hung = MonotonicClock.nanoseconds()
        try sim.hang(primary.description)
        let timedOut = D.waitFor(monitor.topology, seconds: 5) { $0.servers[primary]?.type == .unknown }
        let timedOutMS = D.elapsedMS(since: hung)
        #expect(timedOut != nil)
        #expect(timedOutMS < 500 + 400 + 400 + 500, "hung primary marked Unknown after \(timedOutMS) ms")
        #expect(timedOut?.servers[primary]?.error?.contains("connectTimeoutMS") == true)
        Thread.sleep(forTimeInterval: max(0, 2.0 - timedOutMS / 1000))
        let checksMS = D.elapsedMS(since: hung)
        for (i, address) in others.enumerated() {
            let checks = (sim.statistics(for: address)?.hellosReceived ?? 0) - before[i]
            let expected = Int(checksMS / 500)
            #expect(checks >= expected - 1, "\(address) had \(checks) checks in \(checksMS) ms while the primary hung")
        }
    }

    @Test func shipOfTheseusEveryMemberReplacedOneAtATime() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [D.address(sim.addresses[0])], replicaSet: "rs0", heartbeatFrequencyMS: 500),
            options: MonitorOptions(serverMonitoringMode: .poll))
        defer { monitor.close() }
        let original = sim.addresses
        _ = D.waitFor(monitor.topology) { $0.servers.count == 3 && D.primary(of: $0) != nil }
        for old in original {
            let added = D.address(try sim.addMember())
            #expect(D.waitFor(monitor.topology, requestChecks: true) { $0.servers[added]?.type == .rsSecondary } != nil,
                    "new member \(added) was not discovered")
            try sim.removeMember(old)
            let gone = D.waitFor(monitor.topology, requestChecks: true) { t in
                t.servers[D.address(old)] == nil && D.primary(of: t) != nil
            }
            #expect(gone != nil, "\(old) still in the topology or no primary after its removal")
        }
        let final = monitor.topology.description
        #expect(Set(final.servers.keys).isDisjoint(with: original.map(D.address)), "every original member is gone")
        #expect(final.type == .replicaSetWithPrimary)
        #expect(final.servers.count == 3)
    }

    @Test func aThousandMongosAreKnownQuicklyWithOneMonitorThread() throws {
        ResourceCounts.raiseOpenFileLimit()
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 1_000), threadName: "e2e-mongos"))
        defer { sim.stop() }
        let start = MonotonicClock.nanoseconds()
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: sim.addresses.map(D.address)),
            options: MonitorOptions(threadName: "e2e-monitor", serverMonitoringMode: .poll))
        defer { monitor.close() }
        let all = D.waitFor(monitor.topology, seconds: 60) { t in
            t.servers.count == 1_000 && t.servers.values.allSatisfy { $0.type == .mongos }
        }
        let ms = D.elapsedMS(since: start)
        print("figure: 1,000 mongos all known after \(ms) ms")
        #expect(all?.type == .sharded)
        #expect(ms < 30_000, "1,000 mongos known after \(ms) ms")
        #expect(ResourceCounts.threads(named: "e2e-monitor") == 1, "one thread monitors every server")
    }
}
