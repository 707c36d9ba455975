import MongoClientPool
import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
@testable import MongoClientPool
import TestSupport

/// The async face against the simulated replica set: `withClient` and the async commands over
/// the same core, waits as continuations, cancellation, close.
@Suite(.serialized) struct AsyncFaceTests {
    typealias D = Deployment
    static let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]

    @Test func commandsRunAndThePoolClosesCleanly() async throws {
        let sim = try D.replicaSet(members: 3, thread: "async-sim")
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&appname=async-basic")
        let write = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
        #expect(write["ok"]?.isTruthy == true)
        let read = try await pool.withClient { try await $0.runCommand(["find": "c"], database: "test", readPreference: .secondary) }
        #expect(read["ok"]?.isTruthy == true)
        // Many at once, more than maxPoolSize: they wait for clients and connections.
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<300 {
                group.addTask { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }["ok"]?.isTruthy == true }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.count == 300 && results.allSatisfy { $0 })
        // The async face started the pool's operations loop; closing stops it (its thread is
        // joined, its descriptors released). Other suites run pools meanwhile, so the loop is
        // checked rather than a count of threads named sdam-ops.
        let loop = try pool.shared.operationsLoop()
        #expect(!loop.isReleased)
        await pool.close()
        #expect(loop.isReleased)
        let ports = sim.addresses.compactMap { ServerAddress($0)?.port }
        for port in ports { #expect(ResourceCounts.settleConnections(toPort: port) == 0) }
    }

    @Test func aCommandErrorIsTheBlockingOnes() async throws {
        try await Self.withSet(options: "appname=async-errors") { sim, pool in
            _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
            let primary = try #require(D.primary(of: pool.topology.description))
            try Self.failNextInsert(on: primary, of: sim, ["errorCode": .int32(2)])
            do {
                _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
                Issue.record("the failing insert succeeded")
            } catch let error as ClientPoolError {
                guard case .commandFailed(let failure) = error else { Issue.record("unexpected \(error)"); return }
                #expect(failure.code == 2)
            }
        }
    }

    @Test func aWaitingWriteProceedsWhenAPrimaryIsElected() async throws {
        try await Self.withSet(electionDelayMS: 600, options: "appname=async-elect") { sim, pool in
            _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
            try sim.stepDown()
            let start = MonotonicClock.nanoseconds()
            // The pool learns of the stepdown (the first check after it), then writes wait.
            #expect(D.waitFor(pool.topology, requestChecks: true) { D.primary(of: $0) == nil } != nil)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }["ok"]?.isTruthy == true }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.allSatisfy { $0 } && outcomes.count == 50)
            let ms = D.elapsedMS(since: start)
            #expect(ms >= 550 && ms < 60_000, "the writes took \(ms) ms for a 600 ms election (the upper bound guards a hang)")
            #expect(pool.topology.changeWaiterCount == 0)
        }
    }

    @Test func cancellingAWaitingSelectionEndsItAtOnce() async throws {
        try await Self.withSet(electionDelayMS: 60_000, options: "appname=async-cancel") { sim, pool in
            _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
            try sim.stepDown()
            _ = D.waitFor(pool.topology, requestChecks: true) { D.primary(of: $0) == nil }
            let task = Task { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") } }
            let registered = await eventually { pool.topology.changeWaiterCount == 1 }
            #expect(registered)
            await Self.expectCancelledAtOnce(task, "the cancelled selection") { pool.topology.changeWaiterCount == 0 }
            #expect(pool.topology.changeWaiterCount == 0)
            #expect(pool.waitingTaskCount == 0)
            #expect(pool.tryPop() != nil, "the cancelled task gave its client back")
        }
    }

    @Test func cancellingAnOperationInFlightClosesItsConnectionOnly() async throws {
        try await Self.withSet(options: "appname=async-inflight") { sim, pool in
            _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
            let primary = try #require(D.primary(of: pool.topology.description))
            let generation = pool.topology.poolGeneration(for: primary)
            try Self.failNextInsert(on: primary, of: sim, ["blockConnection": .bool(true), "blockTimeMS": .int32(5_000)])
            let task = Task { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") } }
            try await Task.sleep(for: .milliseconds(200))
            await Self.expectCancelledAtOnce(task, "the cancelled insert")
            #expect(pool.topology.description.servers[primary]?.type == .rsPrimary, "the server stays the primary")
            #expect(pool.topology.poolGeneration(for: primary) == generation, "its pool was not cleared")
            #expect(pool.openConnectionCount == 0, "the cancelled operation's connection was closed")
            let next = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
            #expect(next["ok"]?.isTruthy == true)
        }
    }

    @Test func tasksWaitForClientsAndCancellationGivesTheTurnAway() async throws {
        try await Self.withSet(options: "maxPoolSize=1&appname=async-clients") { sim, pool in
            let held = try await pool.pop()
            let waiting = Task { try await pool.withClient { _ async throws in 1 } }
            let cancelledOne = Task { try await pool.withClient { _ async throws in 2 } }
            #expect(await eventually { pool.waitingTaskCount == 2 })
            cancelledOne.cancel()
            #expect(pool.waitingTaskCount == 1, "cancel() withdrew the waiter")
            await #expect(throws: CancellationError.self) { try await cancelledOne.value }
            pool.push(held)
            #expect(try await waiting.value == 1)
            #expect(pool.clientCount == 1)
        }
    }

    @Test func selectionTimesOutWithTheBlockingError() async throws {
        try await Self.withSet(electionDelayMS: 60_000, stepDownFirst: true, options: "serverSelectionTimeoutMS=400&appname=async-timeout") { sim, pool in
            let start = MonotonicClock.nanoseconds()
            do {
                _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
                Issue.record("a write succeeded with no primary")
            } catch let error as ClientPoolError {
                guard case .serverSelectionTimeout = error else { Issue.record("unexpected \(error)"); return }
            }
            let ms = D.elapsedMS(since: start)
            #expect(ms >= 390 && ms < 60_000, "timed out after \(ms) ms for 400 (the upper bound guards a hang)")
        }
    }

    @Test func closingFailsEveryWaiter() async throws {
        let sim = try D.replicaSet(members: 3, electionDelayMS: 60_000, thread: "async-sim")
        defer { sim.stop() }
        try sim.stepDown()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&maxPoolSize=2&appname=async-close")
        let tasks = (0..<6).map { _ in Task { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") } } }
        #expect(await eventually { pool.topology.changeWaiterCount == 2 && pool.waitingTaskCount == 4 })
        await pool.close()
        for task in tasks {
            do {
                _ = try await task.value
                Issue.record("a write succeeded on a closed pool")
            } catch let error as ClientPoolError {
                guard case .poolClosed = error else { Issue.record("unexpected \(error)"); continue }
            }
        }
        do {
            _ = try await pool.pop()
            Issue.record("pop succeeded on a closed pool")
        } catch let error as ClientPoolError {
            guard case .poolClosed = error else { Issue.record("unexpected \(error)"); return }
        }
    }

    /// Runs `body` with a simulated three-member set and a pool over it (`options` added to
    /// its URI), then closes both (also when it throws).
    static func withSet(
        electionDelayMS: Int = 0, stepDownFirst: Bool = false, options: String, _ body: (MongoSimulator, ClientPool) async throws -> Void
    ) async throws {
        let sim = try D.replicaSet(members: 3, electionDelayMS: electionDelayMS, thread: "async-sim")
        defer { sim.stop() }
        if stepDownFirst { try sim.stepDown() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&" + options)
        do {
            try await body(sim, pool)
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    /// The primary fails its next insert as `data` says (a `failCommand` fail point).
    static func failNextInsert(on primary: ServerAddress, of sim: MongoSimulator, _ data: BSONDocument) throws {
        var data = data
        data["failCommands"] = .array([.string("insert")])
        _ = try sim.configureFailPoint([
            "configureFailPoint": .string("failCommand"), "mode": .document(["times": .int32(1)]), "data": .document(data),
        ], on: primary.description)
    }

    /// Cancels `task`, which must end with CancellationError. `withdrawn` must hold as soon as
    /// `cancel()` returns (the cancellation handler withdraws a waiter synchronously): that is
    /// the "at once". The task itself then needs a cooperative thread to finish on, which other
    /// suites' blocking tests may hold for seconds, so its end is only guarded against a hang
    /// (AsyncWaitTests measures how fast cancelled tasks end, in a process of their own).
    static func expectCancelledAtOnce<T: Sendable>(
        _ task: Task<T, any Error>, _ what: String, withdrawn: () -> Bool = { true }
    ) async {
        let cancelled = MonotonicClock.nanoseconds()
        task.cancel()
        #expect(withdrawn(), "\(what): the wait was not withdrawn when cancel() returned")
        let result = await task.result
        let ms = D.elapsedMS(since: cancelled)
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(ms < 60_000, "\(what) ended after \(ms) ms")
    }
}
