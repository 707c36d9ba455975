import MongoClientPool
import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The story told by pooled clients against the simulated replica set: waiting reads and
/// writes proceed the moment a usable server is known, and a failover costs a write about one
/// minHeartbeatFrequencyMS after the election.
@Suite(.serialized) struct PoolStoryTests {
    typealias D = Deployment

    static func pool(_ uri: String, thread: String) throws -> ClientPool {
        try ClientPool(uri: uri + "&serverMonitoringMode=poll&appname=\(thread)")
    }

    @Test func waitingSecondaryReadProceedsBeforeThePrimaryIsKnown() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let state = try #require(try sim.replicaSetState())
        let primary = try #require(state.primary)
        let secondary = try #require(sim.addresses.first { $0 != primary })
        try sim.hang(primary)  // the primary will not answer its first check for 2 s
        let pool = try Self.pool("mongodb://\(secondary)/?replicaSet=rs0&connectTimeoutMS=2000", thread: "story-read")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        let start = MonotonicClock.nanoseconds()
        let reply = try client.runCommand(["find": .string("c")], database: "test", readPreference: .secondary)
        let ms = D.elapsedMS(since: start)
        #expect(reply["ok"]?.isTruthy == true)
        #expect(ms < 1_000, "the secondary read waited \(ms) ms")
        #expect(D.primary(of: pool.topology.description) == nil, "the read proceeded before the primary was known")
    }

    @Test func waitingWriteProceedsWhenThePrimaryIsFoundNotWhenAllAnswered() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let state = try #require(try sim.replicaSetState())
        let primary = try #require(state.primary)
        let secondaries = sim.addresses.filter { $0 != primary }
        try sim.hang(secondaries[1])  // one member never answers its first check
        let pool = try Self.pool("mongodb://\(secondaries[0])/?replicaSet=rs0&connectTimeoutMS=3000", thread: "story-write")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        let start = MonotonicClock.nanoseconds()
        let reply = try client.runWriteCommand(["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])], database: "test")
        let ms = D.elapsedMS(since: start)
        #expect(reply["ok"]?.isTruthy == true)
        #expect(ms < 1_000, "the write waited \(ms) ms")
        #expect(pool.topology.description.servers[D.address(secondaries[1])]?.type == .unknown,
                "the write did not wait for the hung member")
    }

    @Test func crisisAndResolutionAfterThePrimaryDies() throws {
        let sim = try D.replicaSet(members: 3, electionDelayMS: 300)
        defer { sim.stop() }
        let pool = try Self.pool("mongodb://\(sim.addresses[0])/?replicaSet=rs0", thread: "story-crisis")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        _ = try client.runWriteCommand(insert, database: "test")  // the client now holds a connection to the primary
        let oldPrimary = try #require(D.primary(of: pool.topology.description))
        Thread.sleep(forTimeInterval: 0.6)
        let killed = MonotonicClock.nanoseconds()
        try sim.kill(oldPrimary.description)
        // The write caught on the dead connection fails with a network error naming the server.
        // (The monitor may win the race: it sees the same connection close, marks the server
        // Unknown and bumps the pool generation, so the stale connection is never used and the
        // write goes to the new primary instead; or, when its transition comes between the
        // write's selection and its check-out, the check-out finds the pool cleared and fails
        // with PoolClearedError, retryable as the network error is. Either way no write reaches
        // a dead server.)
        do {
            _ = try client.runWriteCommand(insert, database: "test")
            #expect(pool.topology.poolGeneration(for: oldPrimary).map { $0 > 0 } ?? true,
                    "a write succeeded while the dead primary's pool was never cleared")
            #expect(D.primary(of: pool.topology.description) != oldPrimary)
        } catch {
            switch error {
            case .network(let failure):
                #expect(failure.server == oldPrimary)
            case .connectionPoolCleared(let failure):
                #expect(failure.server == oldPrimary)
                #expect(error.errorLabels.contains("RetryableWriteError"), "\(error)")
            default:
                Issue.record("expected a network error or PoolClearedError, got \(error)")
                return
            }
            #expect(error.description.contains(oldPrimary.description))
        }
        // The next write waits for the new primary and succeeds soon after the election.
        let reply = try client.runWriteCommand(insert, database: "test")
        let ms = D.elapsedMS(since: killed)
        let newPrimary = D.primary(of: pool.topology.description)
        print("figure: primary killed -> waiting write succeeded on \(newPrimary?.description ?? "?") after \(ms) ms (300 ms election)")
        #expect(reply["ok"]?.isTruthy == true)
        #expect(newPrimary != nil && newPrimary != oldPrimary)
        #expect(ms < 300 + 1_500, "the waiting write took \(ms) ms")
    }

    @Test func stepdownSurfacesNotWritablePrimaryThenTheNextWriteFindsTheNewPrimary() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let pool = try Self.pool("mongodb://\(sim.addresses[0])/?replicaSet=rs0", thread: "story-step")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        _ = try client.runWriteCommand(insert, database: "test")
        let oldPrimary = try #require(D.primary(of: pool.topology.description))
        Thread.sleep(forTimeInterval: 0.6)
        let stepped = MonotonicClock.nanoseconds()
        try sim.stepDown()
        var sawNotWritablePrimary = false
        var reply: BSONDocument?
        while reply == nil, D.elapsedMS(since: stepped) < 5_000 {
            do {
                reply = try client.runWriteCommand(insert, database: "test")
            } catch {
                if case .commandFailed(let failure) = error, failure.code == 10107 { sawNotWritablePrimary = true }
            }
        }
        let ms = D.elapsedMS(since: stepped)
        print("figure: stepdown -> next successful write after \(ms) ms")
        #expect(sawNotWritablePrimary, "the old primary answered NotWritablePrimary")
        #expect(reply?["ok"]?.isTruthy == true)
        #expect(D.primary(of: pool.topology.description) != oldPrimary)
        #expect(ms < 1_500, "the write found the new primary after \(ms) ms")
    }

    @Test func manyThreadsPopRunAndPushThenEverythingCloses() throws {
        let sim = try D.replicaSet(members: 3)
        defer { sim.stop() }
        let pool = try Self.pool("mongodb://\(sim.addresses[0])/?replicaSet=rs0&maxPoolSize=4", thread: "story-many")
        let failures = ConditionLock(0)
        let done = ConditionLock(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for _ in 0..<25 {
                do {
                    let client = try pool.pop()
                    defer { pool.push(client) }
                    let rp: ReadPreference = i % 2 == 0 ? .secondaryPreferred : .primary
                    _ = try client.runCommand(["ping": .int32(1)], database: "admin", readPreference: rp)
                    done.withLock { $0 += 1 }
                } catch {
                    failures.withLock { $0 += 1 }
                }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(done.withLock { $0 } == 200)
        #expect(pool.clientCount <= 4)
        pool.close()
        for address in sim.addresses {
            let port = D.address(address).port
            #expect(ResourceCounts.settleConnections(toPort: port) == 0, "connections to \(address) left open after close")
        }
    }
}
