import Foundation
@testable import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The client-backpressure retry policy against a simulated server's `failCommand` fail point.
@Suite(.serialized) struct OverloadRetryTests {
    static func failPoint(_ mode: BSON, code: Int32 = 462, labels: [String]) -> BSONDocument {
        ["configureFailPoint": .string("failCommand"), "mode": mode,
         "data": .document(["failCommands": .array([.string("insert")]), "errorCode": .int32(code),
                            "errorLabels": .array(labels.map { .string($0) })])]
    }

    static let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
    static let overload = ["SystemOverloadedError", "RetryableError"]

    /// How many times the fail point fired, read when switching it off.
    static func timesFired(_ sim: MongoSimulator, _ address: String) throws -> Int64? {
        try sim.configureFailPoint(["configureFailPoint": .string("failCommand"), "mode": .string("off")], on: address)["count"]?.int64Value
    }

    @Test("an insert refused twice as overloaded is retried and succeeds")
    func overloadedInsertIsRetried() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "overload-sim"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: "mongodb://\(address)/?directConnection=true&serverMonitoringMode=poll")
        defer { pool.close() }
        _ = try sim.configureFailPoint(Self.failPoint(.document(["times": .int32(2)]), labels: Self.overload), on: address)
        let reply = try pool.withClient { try $0.runWriteCommand(Self.insert, database: "test") }
        #expect(reply["ok"]?.isTruthy == true)
        #expect(pool.topology.description.servers[ServerAddress(address)!]?.type == .standalone, "overload marks nothing Unknown")
    }

    @Test("retries stop after maxAdaptiveRetries; errors without both labels are not retried")
    func retriesAreBounded() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "overload-sim2"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: "mongodb://\(address)/?directConnection=true&serverMonitoringMode=poll&maxAdaptiveRetries=2")
        defer { pool.close() }
        _ = try sim.configureFailPoint(Self.failPoint(.string("alwaysOn"), labels: Self.overload), on: address)
        #expect(throws: ClientPoolError.self) { try pool.withClient { try $0.runWriteCommand(Self.insert, database: "test") } }
        #expect(try Self.timesFired(sim, address) == 3, "the first attempt and two retries")

        _ = try sim.configureFailPoint(Self.failPoint(.string("alwaysOn"), code: 11_000, labels: ["SystemOverloadedError"]), on: address)
        #expect(throws: ClientPoolError.self) { try pool.withClient { try $0.runWriteCommand(Self.insert, database: "test") } }
        #expect(try Self.timesFired(sim, address) == 1, "SystemOverloadedError without RetryableError is not retried")
    }
}
