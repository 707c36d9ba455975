import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Load-balanced mode (load-balancers spec): the handshake names the service behind the load
/// balancer, errors carry it, and a pool is cleared per service.
@Suite struct LoadBalancedPoolTests {
    static func pool(_ server: ScriptedServer) -> ClientPool {
        let monitor = HandFedMonitor(settings: TopologySettings(seeds: [server.address], loadBalanced: true))
        var settings = ClientSettings(topology: monitor.topology.settings)
        settings.overloadRetry = OverloadRetryPolicy(maxAttempts: 0)
        return ClientPool(settings: settings, monitor: monitor)
    }

    @Test("a load balancer's handshake without serviceId is refused with an error that says so")
    func handshakeWithoutServiceIdIsRefused() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in ScriptedServer.ok }
        defer { server.stop() }
        let pool = Self.pool(server)
        defer { pool.close() }
        var caught: ClientPoolError?
        do { _ = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") } } catch { caught = error as? ClientPoolError }
        guard case .invalidReply(let address, let reason)? = caught else {
            Issue.record("expected an invalid handshake reply, got \(String(describing: caught))")
            return
        }
        #expect(address == server.address)
        #expect(reason.contains("serviceId"), "\(reason)")
    }

    @Test("a network error on a service's connection clears that service's connections, and the pool stays ready")
    func networkErrorClearsTheService() throws {
        let service = BSONObjectID(bytes: Array(repeating: 7, count: 12))!
        var hello = FakeMongoServer.standaloneHello()
        hello["serviceId"] = .objectID(service)
        hello["msg"] = .string("isdbgrid")
        let server = try ScriptedServer(hello: hello) { request in
            request["ping"] != nil ? ScriptedServer.ok : nil  // anything else: the connection closes
        }
        defer { server.stop() }
        let pool = Self.pool(server)
        defer { pool.close() }
        let cleared = ConditionLock<[BSONObjectID?]>([])
        pool.topology.events.addHandler { event in
            if case .pool(.poolCleared(_, let serviceId, _)) = event { cleared.withLock { $0.append(serviceId) } }
        }
        _ = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") }
        #expect(throws: ClientPoolError.self) { try pool.withClient { try $0.runCommand(["find": .string("c")], database: "test") } }
        pool.topology.events.flush()
        #expect(cleared.withLock { $0 } == [service], "cleared for the one service, by its serviceId")
        #expect(pool.topology.description.servers[server.address]?.type == .loadBalancer, "a load balancer is never marked Unknown")
        // The pool was not paused: the next command runs.
        let reply = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") }
        #expect(reply["ok"]?.isTruthy == true)
    }
}
