import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// A server that answers awaitable hellos at once, with nothing new, long before
/// maxAwaitTimeMS (a server or proxy that ignores it): streaming from it would send hellos as
/// fast as they come back, so the monitor polls it on the open connection and measures no RTT
/// on a second one.
@Suite(.serialized) struct ImpatientServerTests {
    typealias D = Deployment

    /// The done-when figure of issue 11 item 3b: 10 s at heartbeatFrequencyMS=500 against such
    /// a server cost at most 3 connections and 40 hellos, monitoring and RTT together.
    @Test func serverThatAnswersAwaitableHellosAtOnceCostsAPollingMonitor() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, topologyVersion: true, threadName: "e2e-impatient-s"))
        defer { sim.stop() }
        let address = try #require(sim.addresses.first)
        try sim.makeHostile(address, .ignoresMaxAwaitTime)
        let before = try #require(sim.statistics(for: address))
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [D.address(address)], heartbeatFrequencyMS: 500),
            options: MonitorOptions(threadName: "e2e-impatient", serverMonitoringMode: .stream))
        defer { monitor.close() }
        Thread.sleep(forTimeInterval: 10)
        let after = try #require(sim.statistics(for: address))
        let known = monitor.topology.description.servers[D.address(address)]?.type
        monitor.close()
        let connections = after.connectionsAccepted - before.connectionsAccepted
        let hellos = after.hellosReceived - before.hellosReceived
        print("figure: server answering awaitable hellos at once, 10 s at heartbeatFrequencyMS=500: \(connections) connections, \(hellos) hellos (monitoring and RTT)")
        #expect(known == .standalone)
        #expect(connections <= 3, "\(connections) connections in 10 s")
        #expect(hellos <= 40, "\(hellos) hellos in 10 s")
        #expect(after.openConnections == 1, "one polling connection open, no RTT connection")
    }
}
