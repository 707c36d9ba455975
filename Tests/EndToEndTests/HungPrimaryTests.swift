import Foundation
@testable import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// Issue 12's crisis: the primary hangs (accepts, and answers nothing on any connection,
/// monitoring included) while eight threads are in the middle of inserts on it. The monitor's
/// check times out, the server becomes Unknown and its pool is cleared with
/// interruptInUseConnections, so every stuck insert fails at once with an error that says so;
/// nothing waits for a socket timeout that is not set.
@Suite(.serialized) struct HungPrimaryTests {
    typealias D = Deployment

    @Test(.timeLimit(.minutes(1)))
    func insertsInFlightOnAHungPrimaryEndWhenItsCheckTimesOut() throws {
        let sim = try D.replicaSet(members: 3, thread: "hang-sim")
        defer { sim.stop() }
        let heartbeatMS = 500.0, connectTimeoutMS = 1_000.0
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=500"
            + "&connectTimeoutMS=1000&serverMonitoringMode=poll&appname=hang-test")
        let ports = sim.addresses.compactMap { ServerAddress($0)?.port }
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        _ = try pool.withClient { try $0.runWriteCommand(insert, database: "test") }
        let primary = try #require(D.primary(of: pool.topology.description))

        // Inserts on the primary stay in flight (the server holds them), so the threads are in
        // the middle of them when it hangs.
        _ = try sim.configureFailPoint([
            "configureFailPoint": .string("failCommand"), "mode": .string("alwaysOn"),
            "data": .document(["failCommands": .array([.string("insert")]), "blockConnection": .bool(true),
                               "blockTimeMS": .int32(60_000)]),
        ], on: primary.description)
        let outcomes = ConditionLock<[(Result<BSONDocument, ClientPoolError>, UInt64)]>([])
        // Threads of their own: Dispatch's global queue would start only about one per core
        // while the first ones block.
        for _ in 0..<8 {
            let client = try pool.pop()
            Thread.detachNewThread {
                let result = Result { () throws(ClientPoolError) in try client.runWriteCommand(insert, database: "test") }
                outcomes.withLock { $0.append((result, MonotonicClock.nanoseconds())) }
                outcomes.broadcast()
                pool.push(client)
            }
        }
        // All eight hold a connection of the primary's pool (and have sent their insert) before
        // it hangs.
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while pool.openConnectionCount < 8, MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(pool.openConnectionCount == 8)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(outcomes.withLock { $0.isEmpty }, "the inserts must still be in flight")
        let hungAt = MonotonicClock.nanoseconds()
        try sim.hang(primary.description)

        let bound = connectTimeoutMS + heartbeatMS + 1_000
        let all = outcomes.wait(until: hungAt + UInt64(bound * 2 * 1e6)) { $0.count == 8 ? $0 : nil }
        let ended = try #require(all, "\(outcomes.withLock { $0.count }) of 8 inserts ended; the others stayed blocked")
        for (result, at) in ended {
            let ms = Double(at - hungAt) / 1e6
            guard case .failure(let error) = result else {
                Issue.record("an insert on the hung primary succeeded")
                continue
            }
            #expect(ms <= bound, "an insert ended \(ms) ms after the hang (bound \(bound) ms)")
            guard case .connectionPoolCleared(let failure) = error else {
                Issue.record("expected the pool's interruption, got: \(error)")
                continue
            }
            #expect(failure.interrupted && failure.server == primary)
            #expect(error.description.contains("\(primary) interrupted due to server monitor timeout"), "\(error)")
            #expect(error.errorLabels.contains("RetryableWriteError"))
        }
        let slowest = ended.map { Double($0.1 - hungAt) / 1e6 }.max() ?? 0
        print("figure: primary hung with 8 inserts in flight -> all 8 failed within \(Int(slowest)) ms (bound \(Int(bound)) ms)")
        // Unknown after its check timed out — or PossiblePrimary, once a secondary's check
        // (they go on, every heartbeat) has named it as the primary again, as SDAM says of an
        // Unknown server a secondary names. Either way it is not selectable.
        let hungType = pool.topology.description.servers[primary]?.type
        #expect(hungType == .unknown || hungType == .possiblePrimary, "\(String(describing: hungType))")

        // A new primary is elected; the next insert finds it and succeeds.
        let next = try #require(sim.addresses.first { $0 != primary.description })
        try sim.elect(next)
        let reply = try pool.withClient { try $0.runWriteCommand(insert, database: "test") }
        #expect(reply["ok"]?.isTruthy == true)
        #expect(D.primary(of: pool.topology.description)?.description == next)

        pool.close()
        for port in ports {
            #expect(ResourceCounts.settleConnections(toPort: port) == 0, "a socket to port \(port) outlived close()")
        }
    }
}
