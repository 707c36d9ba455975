import Logging
import MongoSimulator
import ServiceLifecycle
import Testing
import TestSupport
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoClientPool

/// The pool as a swift-service-lifecycle `Service`: its lifetime is the group's, and the
/// documented rule holds at graceful shutdown (waiters fail at once, operations in flight
/// finish, then the pool closes) and at cancellation (it closes at once).
@Suite(.serialized) struct PoolServiceTests {
    typealias D = Deployment
    static let insert: BSONDocument = ["insert": "c", "documents": [["x": 1]]]

    /// A pool run by a service group over a simulated set, its primary holding the next insert
    /// `blockMS` (if given); `body` gets the pool, the group and the task running it.
    static func withRunningPool(
        options: String, blockMS: Int?, _ body: (ClientPool, ServiceGroup, Task<Void, any Error>) async throws -> Void
    ) async throws {
        let sim = try D.replicaSet(members: 3, thread: "service-sim")
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&" + options)
        let group = ServiceGroup(services: [pool], logger: Logger(label: "test.service"))
        let running = Task { try await group.run() }
        _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
        let primary = try #require(D.primary(of: pool.topology.description))
        if let blockMS {
            _ = try sim.configureFailPoint([
                "configureFailPoint": "failCommand", "mode": ["times": 1],
                "data": ["failCommands": ["insert"], "blockConnection": true, "blockTimeMS": .int32(Int32(blockMS))],
            ], on: primary.description)
        }
        try await body(pool, group, running)
        if !pool.isClosed { await pool.close() }
    }

    @Test func gracefulShutdownFailsWaitersLetsOperationsFinishThenCloses() async throws {
        try await Self.withRunningPool(options: "maxPoolSize=2&appname=service-graceful", blockMS: nil) { pool, group, running in
            // One task holds a client until the gate opens, then writes; another waits for a
            // server no member matches; a third waits for a client.
            let gate = AsyncWaiter<Void>()
            let holding = Task {
                try await pool.withClient { client in
                    try await gate.value(withdraw: {})
                    return try await client.runWriteCommand(Self.insert, database: "test")
                }
            }
            let nowhere = ReadPreference(mode: .secondary, tagSets: [["dc": "nowhere"]])
            let waitingForServer = Task { try await pool.withClient { try await $0.runCommand(["find": "c"], database: "test", readPreference: nowhere) } }
            #expect(await eventually { pool.topology.changeWaiterCount == 1 && pool.clientCount == 2 })
            let waitingForClient = Task { try await pool.withClient { _ async throws in 1 } }
            #expect(await eventually { pool.waitingTaskCount == 1 })

            await group.triggerGracefulShutdown()
            await Self.expectPoolClosed(waitingForServer)
            await Self.expectPoolClosed(waitingForClient)
            #expect(!pool.isClosed, "the pool stays open while a task holds a client")
            gate.resume(.success(()))
            let reply = try await holding.value
            #expect(reply["ok"]?.isTruthy == true, "the task holding a client ran its write after the shutdown began")
            try await running.value
            #expect(pool.isClosed, "the pool closed once the last client was back")
            await #expect(throws: ClientPoolError.self) { try await pool.pop() }
        }
    }

    @Test func cancellationClosesThePoolAtOnce() async throws {
        try await Self.withRunningPool(options: "appname=service-cancel", blockMS: 5_000) { pool, _, running in
            let inFlight = Task { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") } }
            try await Task.sleep(for: .milliseconds(200))
            let cancelled = MonotonicClock.nanoseconds()
            running.cancel()
            _ = try? await running.value
            await Self.expectPoolClosed(inFlight)
            // Interrupted: left to itself, the held insert would succeed after 5 s.
            #expect(D.elapsedMS(since: cancelled) < 60_000)
            #expect(pool.isClosed)
        }
    }

    static func expectPoolClosed<T: Sendable>(_ task: Task<T, any Error>) async {
        do {
            _ = try await task.value
            Issue.record("expected poolClosed, the task succeeded")
        } catch let error as ClientPoolError {
            guard case .poolClosed = error else { Issue.record("expected poolClosed, got \(error)"); return }
        } catch {
            Issue.record("expected poolClosed, got \(error)")
        }
    }
}
