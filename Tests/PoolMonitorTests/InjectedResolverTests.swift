import Foundation
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The monitor's name resolver is a seam: a test resolves host names itself, without DNS.
@Suite struct InjectedResolverTests {
    @Test("a monitor resolves a host name through the injected resolver, off the loop, and reaches the server")
    func injectedResolverServesTheMonitor() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let asked = ConditionLock<[String]>([])
        let resolver = BoundedResolver(maxInFlight: 1) { host, port in
            asked.withLock { $0.append(host) }
            return .success([ResolvedAddress(ipLiteral: "127.0.0.1", port: port)!])
        }
        let named = ServerAddress(host: "db.injected.test", port: server.port)
        let monitor = try TopologyMonitor(settings: TopologySettings(seeds: [named], heartbeatFrequencyMS: 60_000),
                                          resolver: resolver, beforeOpening: { _ in })
        defer { monitor.close() }
        let found = TopologyMonitorTests.waitFor(monitor.topology) { $0.servers[named]?.type == .standalone }
        #expect(found != nil, "the monitor never reached the server through the injected resolver")
        #expect(asked.withLock { $0 } == ["db.injected.test"])
    }

    @Test("monitoring connections are opened through the injected connection factory")
    func injectedConnectionFactoryOpensMonitoringConnections() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let opened = ConditionLock<[ResolvedAddress]>([])
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [server.address], heartbeatFrequencyMS: 60_000),
            options: MonitorOptions(), events: EventPublisher(), resolver: .shared,
            connectionFactory: {
                { loop, server, address, scratch, onEvent throws(StreamError) in
                    opened.withLock { $0.append(address) }
                    return try MonitorConnection(loop: loop, server: server, address: address, scratch: scratch, onEvent: onEvent)
                }
            },
            beforeOpening: { _ in })
        defer { monitor.close() }
        let found = TopologyMonitorTests.waitFor(monitor.topology) { $0.servers[server.address]?.type == .standalone }
        #expect(found != nil)
        #expect(opened.withLock { $0 }.map(\.port) == [server.port], "the monitor's one connection came from the factory")
    }
}
