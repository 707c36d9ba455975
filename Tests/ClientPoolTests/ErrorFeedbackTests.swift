import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Errors from commands feed the topology as the SDAM spec's "Error handling" says.
@Suite("error feedback into SDAM")
struct ErrorFeedbackTests {
    static func failure(code: Int32, codeName: String, errmsg: String, labels: [String] = []) -> BSONDocument {
        var reply: BSONDocument = ["ok": .double(0), "errmsg": .string(errmsg), "code": .int32(code), "codeName": .string(codeName)]
        if !labels.isEmpty { reply.append("errorLabels", .array(labels.map(BSON.string))) }
        return reply
    }

    @Test("'not writable primary' (10107) marks the server Unknown, requests a check, and throws CommandFailed")
    func notWritablePrimaryMarksUnknown() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in
            Self.failure(code: 10107, codeName: "NotWritablePrimary", errmsg: "not primary", labels: ["RetryableWriteError"])
        }
        defer { server.stop() }
        let (pool, monitor) = Fixtures.pool(primary: server)
        defer { pool.close() }
        let client = try pool.pop()
        var caught: ClientPoolError?
        do { _ = try client.runWriteCommand(["insert": .string("things")], database: "test") } catch { caught = error }
        guard case .commandFailed(let failure) = try #require(caught) else {
            Issue.record("expected CommandFailed, got \(String(describing: caught))")
            return
        }
        #expect(failure.code == 10107 && failure.codeName == "NotWritablePrimary" && failure.errmsg == "not primary")
        #expect(failure.server == server.address)
        #expect(failure.errorLabels == ["RetryableWriteError"])
        #expect(failure.description.contains("'insert' failed on \(server.address)"))
        let description = try #require(pool.topology.description.servers[server.address])
        #expect(description.type == .unknown)
        #expect(description.error?.contains("not writable primary") == true)
        #expect(monitor.requests.withLock { $0.contains { $0.contains(.requestImmediateCheck(server.address)) } })
        // A 4.2+ server that is not shutting down keeps its pool: the connection stays.
        #expect(pool.topology.poolGeneration(for: server.address) == 0)
        #expect(pool.openConnectionCount == 1)
    }

    @Test("a command error that is no state change leaves the topology alone")
    func ordinaryCommandErrorChangesNothing() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in
            Self.failure(code: 59, codeName: "CommandNotFound", errmsg: "no such command: 'frobnicate'")
        }
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server)
        defer { pool.close() }
        let client = try pool.pop()
        #expect {
            _ = try client.runCommand(["frobnicate": .int32(1)], database: "admin")
        } throws: { error in
            guard case ClientPoolError.commandFailed(let failure) = error else { return false }
            return failure.code == 59 && "\(error)".contains("expected ok: 1, got error 59 (CommandNotFound)")
        }
        #expect(pool.topology.description.servers[server.address]?.type == .rsPrimary)
    }

    @Test("a network error after the handshake marks the server Unknown, clears its pool and names the server")
    func networkErrorMarksUnknownAndClearsPool() throws {
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in nil }
        defer { server.stop() }
        let (pool, monitor) = Fixtures.pool(primary: server)
        defer { pool.close() }
        let client = try pool.pop()
        #expect {
            _ = try client.runWriteCommand(["insert": .string("things")], database: "test")
        } throws: { error in
            guard case ClientPoolError.network(let failure) = error else { return false }
            return failure.server == server.address && !failure.timedOut && !failure.duringHandshake
                && failure.errorLabels.isEmpty
                && "\(error)".contains("network error on the connection to \(server.address)")
                && "\(error)".contains("closed the connection")
        }
        #expect(pool.topology.description.servers[server.address]?.type == .unknown)
        #expect(pool.topology.poolGeneration(for: server.address) == 1)
        #expect(monitor.requests.withLock { $0.contains { $0.contains(.cancelCheck(server.address)) } })
        #expect(pool.openConnectionCount == 0)
    }

    @Test("a socketTimeoutMS timeout closes the connection but leaves the server as it was")
    func socketTimeoutChangesNothing() throws {
        let server = try ScriptedServer.hanging()
        defer { server.stop() }
        let (pool, _) = Fixtures.pool(primary: server) { $0.socketTimeout = .milliseconds(200) }
        defer { pool.close() }
        let client = try pool.pop()
        let start = MonotonicClock.nanoseconds()
        #expect {
            _ = try client.runCommand(["ping": .int32(1)], database: "admin")
        } throws: { error in
            guard case ClientPoolError.network(let failure) = error else { return false }
            return failure.timedOut && !failure.duringHandshake && "\(error)".contains("network timeout")
        }
        let elapsed = secondsSince(start)
        #expect(elapsed >= 0.2 && elapsed < 2)
        #expect(pool.topology.description.servers[server.address]?.type == .rsPrimary)
        #expect(pool.topology.poolGeneration(for: server.address) == 0)
        #expect(pool.openConnectionCount == 0)
    }

    @Test("after 'not writable primary' the next write goes to the new primary")
    func nextOperationFindsNewPrimary() throws {
        let old = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in
            Self.failure(code: 10107, codeName: "NotWritablePrimary", errmsg: "not primary")
        }
        let new = try ScriptedServer(hello: FakeMongoServer.standaloneHello()) { _ in ScriptedServer.ok }
        defer { old.stop(); new.stop() }
        let members = [old.address, new.address]
        // Each is the primary when the client first connects to it: their handshakes say so.
        old.answerHandshakesAsPrimary(hosts: members)
        new.answerHandshakesAsPrimary(hosts: members)
        let (pool, monitor) = Fixtures.pool(seeds: members) { $0.topology.serverSelectionTimeout = .milliseconds(5_000) }
        defer { pool.close() }
        pool.topology.apply(Fixtures.primary(old.address, hosts: members))
        pool.topology.apply(Fixtures.secondary(new.address, hosts: members))
        let client = try pool.pop()
        #expect(throws: ClientPoolError.self) { _ = try client.runWriteCommand(["insert": .string("t")], database: "test") }
        let requestsBefore = monitor.requestCount
        // The next write waits (no primary), asks for checks; the "monitor" then finds the new primary.
        let write = Background { Result { () throws(ClientPoolError) in try client.runWriteCommand(["insert": .string("t")], database: "test") } }
        #expect(monitor.waitForRequests(requestsBefore + 1))
        pool.topology.apply(Fixtures.primary(new.address, hosts: members))
        let outcome = try #require(write.wait())
        #expect(try outcome.get()["ok"] == .double(1))
        #expect(new.commands.count == 1)
    }
}
