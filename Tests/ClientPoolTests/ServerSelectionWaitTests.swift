import Testing
import TestSupport
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Selection on a hand-fed topology: what a waiting selection does when the topology changes.
@Suite("server selection waits on the topology")
struct ServerSelectionWaitTests {
    typealias Outcome = Result<ServerDescription, ClientPoolError>

    static func select(_ client: MongoClient, _ operation: ServerSelectionOperation) -> Background<Outcome> {
        Background { Result { () throws(ClientPoolError) in try client.selectServer(for: operation) } }
    }

    @Test("a waiting secondary read proceeds as soon as a secondary is known, before any primary")
    func secondaryReadProceedsAtOnce() throws {
        let (pool, monitor) = Fixtures.pool()
        defer { pool.close() }
        let waiter = Self.select(try pool.pop(), .read(.secondaryPreferred))
        // The selection found nothing and asked for immediate checks: it is waiting now.
        #expect(monitor.waitForRequests(1))
        let applied = MonotonicClock.nanoseconds()
        pool.topology.apply(Fixtures.secondary(Fixtures.b))
        let outcome = try #require(waiter.wait())
        let latency = secondsSince(applied)
        #expect(try outcome.get().address == Fixtures.b)
        // Woken by the change, not by the next 500 ms round of check requests.
        #expect(latency < 0.25)
    }

    @Test("a waiting write ignores secondaries and proceeds when the primary is known")
    func writeWaitsForPrimary() throws {
        let (pool, monitor) = Fixtures.pool()
        defer { pool.close() }
        let waiter = Self.select(try pool.pop(), .write)
        #expect(monitor.waitForRequests(1))
        pool.topology.apply(Fixtures.secondary(Fixtures.b))
        // It re-ran selection on the change, found no primary, and asked for checks again.
        #expect(monitor.waitForRequests(2))
        #expect(!waiter.isFinished)
        pool.topology.apply(Fixtures.primary(Fixtures.a))
        let outcome = try #require(waiter.wait())
        #expect(try outcome.get().address == Fixtures.a)
    }

    @Test("while waiting, selection asks for immediate checks of every server every 500 ms")
    func checksAreRequestedWhileWaiting() throws {
        let (pool, monitor) = Fixtures.pool { $0.topology.serverSelectionTimeout = .milliseconds(1_200) }
        defer { pool.close() }
        let client = try pool.pop()
        #expect(throws: ClientPoolError.self) { try client.selectServer(for: .write) }
        let batches = monitor.requests.withLock { $0 }
        // At 0, 500 and 1000 ms (and perhaps once more at the deadline's edge).
        #expect((3...4).contains(batches.count))
        for batch in batches {
            #expect(Set(batch) == Set([Fixtures.a, Fixtures.b, Fixtures.c].map(SDAMAction.requestImmediateCheck)))
        }
    }

    @Test("many waiters woken by many changes ask for immediate checks once per 500 ms, not once each")
    func checkRequestsCoalesceAcrossWaiters() throws {
        let (pool, monitor) = Fixtures.pool { $0.maxPoolSize = 0; $0.topology.serverSelectionTimeout = .milliseconds(1_300) }
        defer { pool.close() }
        let start = MonotonicClock.nanoseconds()
        let waiters = try (0..<30).map { _ in Self.select(try pool.pop(), .write) }
        #expect(monitor.waitForRequests(1))
        // Twenty changes, none of which gives the writes a primary: each wakes all 30 waiters.
        for i in 0..<20 {
            pool.topology.apply(Fixtures.secondary(i % 2 == 0 ? Fixtures.b : Fixtures.c, rtt: Double(i + 1)))
        }
        for waiter in waiters { _ = waiter.wait() }
        let elapsed = secondsSince(start)
        let batches = monitor.requestCount
        // Uncoalesced this is one batch per waiter per wake-up (hundreds). Coalesced: one per
        // 500 ms window of the waits (about 1.3 s), so at most a few.
        #expect(batches <= Int(elapsed / 0.5) + 2, "\(batches) batches of check requests in \(elapsed) s")
        #expect(batches >= 2, "the waits must keep asking while they last")
    }

    @Test("the timeout error names the operation, the topology type, and every server with type, RTT and error")
    func timeoutErrorListsEveryServer() throws {
        let (pool, _) = Fixtures.pool { $0.topology.serverSelectionTimeout = .milliseconds(300) }
        defer { pool.close() }
        pool.topology.apply(Fixtures.secondary(Fixtures.a, rtt: 12.5))
        pool.topology.apply(Fixtures.unknown(Fixtures.b, error: "connect to 10.0.0.2:27017 failed: Connection refused"))
        pool.topology.apply(Fixtures.arbiter(Fixtures.c, rtt: 3))
        let client = try pool.pop()
        let start = MonotonicClock.nanoseconds()
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "ny"]])
        var caught: ClientPoolError?
        do {
            _ = try client.selectServer(for: .read(readPreference))
        } catch {
            caught = error
        }
        let elapsed = secondsSince(start)
        let error = try #require(caught)
        guard case .serverSelectionTimeout(let timeout) = error else {
            Issue.record("expected a server selection timeout, got \(error)")
            return
        }
        #expect(elapsed >= 0.3 && elapsed < 2)
        #expect(timeout.topologyType == .replicaSetNoPrimary)
        #expect(timeout.servers.map(\.address) == [Fixtures.a, Fixtures.b, Fixtures.c])
        let text = error.description
        for expected in [
            "read with read preference secondary (tags [{dc: ny}])", "ReplicaSetNoPrimary", "serverSelectionTimeoutMS 300",
            "a.example:27017 RSSecondary, RTT 12.5 ms",
            "b.example:27017 Unknown, RTT none, last error: connect to 10.0.0.2:27017 failed: Connection refused",
            "c.example:27017 RSArbiter, RTT 3 ms",
            "tag sets",
        ] {
            #expect(text.contains(expected), "\(expected) missing from: \(text)")
        }
    }

    @Test("a write's timeout error says write and that there is no primary")
    func writeTimeoutSaysWrite() throws {
        let (pool, _) = Fixtures.pool(seeds: [Fixtures.a], replicaSet: nil) { $0.topology.serverSelectionTimeout = .milliseconds(100) }
        defer { pool.close() }
        let client = try pool.pop()
        #expect {
            _ = try client.selectServer(for: .write)
        } throws: { error in
            let text = "\(error)"
            return text.contains("server selection for write timed out") && text.contains("topology type Unknown")
                && text.contains("a.example:27017 Unknown, RTT none")
        }
    }

    @Test("an invalid read preference fails at once")
    func invalidReadPreferenceFailsAtOnce() throws {
        let (pool, _) = Fixtures.pool()
        defer { pool.close() }
        let client = try pool.pop()
        let start = MonotonicClock.nanoseconds()
        #expect {
            _ = try client.selectServer(for: .read(ReadPreference(mode: .secondary, maxStalenessSeconds: 10)))
        } throws: { error in
            guard case ClientPoolError.selectionRefused(.invalidReadPreference(_, .maxStalenessTooSmall)) = error else { return false }
            return "\(error)".contains("maxStalenessSeconds must be at least 90")
        }
        #expect(secondsSince(start) < 0.2)
    }

    @Test("selection spreads over the latency window and operation counts return to zero")
    func operationCountsReturnToZero() throws {
        let (pool, _) = Fixtures.pool()
        defer { pool.close() }
        pool.topology.apply(Fixtures.secondary(Fixtures.b))
        pool.topology.apply(Fixtures.secondary(Fixtures.c))
        let client = try pool.pop()
        var chosen: Set<ServerAddress> = []
        for _ in 0..<64 {
            let selection = try client.select(for: .read(.secondary), deprioritized: [])
            chosen.insert(selection.server.address)
        }
        // Each selection held its count: with a and b both busy, two-choice picks the lesser.
        let counts = pool.shared.operationCounts.all
        #expect(chosen == [Fixtures.b, Fixtures.c])
        #expect(abs(counts[Fixtures.b, default: 0] - counts[Fixtures.c, default: 0]) <= 1)
        for (address, count) in counts {
            for _ in 0..<count { pool.shared.operationCounts.decrement(address) }
        }
        _ = try client.selectServer(for: .read(.secondary))
        #expect(pool.shared.operationCounts.all.isEmpty)
    }

    @Test("a command whose selection saw the server known while the loop was still starting checks finds its pool ready")
    func aCheckOutBeforeTheMarkReadyIsCarriedOutFindsThePoolReady() throws {
        let server = try FakeMongoServer { _ in FakeMongoServer.standaloneHello() }
        defer { server.stop() }
        let address = server.address
        let (pool, _) = Fixtures.pool(seeds: [address], replicaSet: nil, directConnection: true)
        defer { pool.close() }
        let poolEvents = ConditionLock<[String]>([])
        pool.topology.events.addHandler { event in
            if case .pool(let e) = event { poolEvents.withLock { $0.append(e.typeName) } }
        }
        // Its pool exists, paused (the hand-fed topology opened before the pools were connected).
        _ = pool.shared.pools.pool(for: address)
        let known = ServerDescription(address: address, hello: FakeMongoServer.standaloneHello(), roundTripTimeMS: 1,
                                      now: MonotonicClock.milliseconds())
        var outcome: Result<BSONDocument, any Error>?
        pool.topology.apply(known, act: { _ in
            // As on the monitor's loop: the description is published, the pool not told yet.
            let ping: BSONDocument = ["ping": .int32(1)]
            let command = Background { Result { try pool.withClient { try $0.runCommand(ping, database: "admin") } } }
            outcome = command.wait()
        })
        let reply = try #require(outcome, "the command did not finish").get()
        #expect(reply["ok"]?.isTruthy == true)
        pool.topology.events.flush()
        // At its first try: the pool was marked ready before the check-out began.
        let seen = poolEvents.withLock { $0 }
        #expect(!seen.contains("ConnectionCheckOutFailed"), "\(seen)")
        #expect(seen.firstIndex(of: "ConnectionPoolReady").map { ready in
            seen.firstIndex(of: "ConnectionCheckOutStarted").map { ready < $0 } ?? false
        } ?? false, "\(seen)")
    }
}
