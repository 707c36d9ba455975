import Logging
import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Pools with the real monitor (one libev thread), on loopback. Serialized: they count this
/// process's threads and file descriptors.
@Suite("pools with a live monitor", .serialized)
struct MonitoredPoolTests {
    static func pool(_ uri: String, thread: String) throws -> ClientPool {
        try ClientPool(uri: uri, logger: Logger(label: "test"), events: EventPublisher()) { $0.monitoring.threadName = thread }
    }

    /// A loopback port nobody listens on (bound, then released).
    static func unusedPort() throws -> UInt16 {
        let listener = try LoopbackListener()
        defer { listener.close() }
        return listener.port
    }

    @Test("a pool over unreachable servers is created at once; selection times out naming every server")
    func unreachableServers() throws {
        let ports = [try Self.unusedPort(), try Self.unusedPort()]
        let hosts = ports.map { "127.0.0.1:\($0)" }
        let start = MonotonicClock.nanoseconds()
        let pool = try Self.pool("mongodb://\(hosts.joined(separator: ","))/?serverSelectionTimeoutMS=1000&connectTimeoutMS=500", thread: "cp-unreachable")
        #expect(secondsSince(start) < 0.1, "creating the pool waited for a server")
        let client = try pool.pop()
        var caught: ClientPoolError?
        do { _ = try client.runWriteCommand(["insert": .string("t")], database: "test") } catch { caught = error }
        let error = try #require(caught)
        guard case .serverSelectionTimeout(let timeout) = error else {
            Issue.record("expected a selection timeout, got \(error)")
            pool.close()
            return
        }
        #expect(timeout.servers.map(\.address.description) == hosts.sorted())
        #expect(timeout.servers.allSatisfy { $0.type == .unknown && $0.error != nil })
        let text = error.description
        #expect(text.contains("server selection for write timed out after serverSelectionTimeoutMS 1000"))
        for host in hosts { #expect(text.contains("\(host) Unknown, RTT none, last error:"), "\(text)") }
        pool.close()
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "cp-unreachable") }, to: 0) == 0)
    }

    @Test("discovery, a command, and close: every socket and the thread are gone afterwards")
    func commandThenClose() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let pool = try Self.pool("mongodb://\(server.address)/?serverSelectionTimeoutMS=5000", thread: "cp-command")
        let client = try pool.pop()
        let reply = try client.runCommand(["ping": .int32(1)], database: "admin")
        #expect(reply["ok"]?.isTruthy == true)
        #expect(pool.topology.description.type == .single)
        #expect(pool.openConnectionCount == 1)
        // The monitor's connection and the client's.
        #expect(ResourceCounts.openConnections(toPort: server.port) == 2)
        pool.push(client)
        pool.close()
        #expect(pool.openConnectionCount == 0)
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "cp-command") }, to: 0) == 0)
        #expect(ResourceCounts.settleConnections(toPort: server.port) == 0, "a socket to the server outlived close()")
    }

    @Test("close interrupts a command in flight: its thread fails with the closed error at once")
    func closeInterruptsCommandInFlight() throws {
        let server = try ScriptedServer.hanging()
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server)
        let client = try pool.pop()
        let command = Background { Result { () throws(ClientPoolError) in try client.runCommand(["ping": .int32(1)], database: "admin") } }
        #expect(server.waitForCommands(1))
        let start = MonotonicClock.nanoseconds()
        pool.close()
        let outcome = try #require(command.wait(seconds: 5))
        #expect(secondsSince(start) < 1)
        if case .failure(let error) = outcome { #expect(error.isPoolClosed) } else { Issue.record("the command succeeded") }
        #expect(pool.openConnectionCount == 0)
    }
}
