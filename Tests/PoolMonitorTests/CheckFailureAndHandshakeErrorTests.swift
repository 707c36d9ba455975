import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// A failed monitor check clears the server's pool in the same transition; a failed handshake
/// on an application connection marks the server Unknown unless the server labelled it as
/// overload; the handshake declares backpressure support and limits the application name.
@Suite struct CheckFailureAndHandshakeErrorTests {
    typealias F = SDAMFixtures

    func primaryMachine() -> TopologyStateMachine {
        var m = F.machine(["a"], replicaSet: "rs")
        _ = m.apply(F.description("a", F.primary(hosts: ["a"])))
        return m
    }

    @Test func failedCheckMarksUnknownAndClearsThePoolTogether() {
        var m = primaryMachine()
        let before = m.poolGeneration(for: F.address("a"))
        let update = m.checkFailed(ServerDescription(address: F.address("a"), error: "a:27017: connection reset", now: 2))
        #expect(m.description.servers[F.address("a")]?.type == .unknown)
        #expect(m.poolGeneration(for: F.address("a")) == (before ?? 0) + 1)
        #expect(update.actions.contains(.clearPool(F.address("a"), serviceId: nil)))
        #expect(m.description.type == .replicaSetNoPrimary)
    }

    @Test func plainApplyOfAnUnknownDoesNotClearThePool() {
        var m = primaryMachine()
        _ = m.apply(ServerDescription(address: F.address("a"), error: "x", now: 2))
        #expect(m.poolGeneration(for: F.address("a")) == 0)
    }

    @Test func handshakeCommandErrorMarksUnknownAndCancelsTheCheck() {
        var m = primaryMachine()
        let reply: BSONDocument = ["ok": .int32(0), "code": .int32(8000), "errmsg": .string("internal")]
        let error = ApplicationError(address: F.address("a"), generation: 0, maxWireVersion: 21,
                                     phase: .beforeHandshakeCompletes, kind: .command(reply))
        let update = m.handle(error, now: 3)
        let server = m.description.servers[F.address("a")]
        #expect(server?.type == .unknown)
        #expect(server?.error?.contains("internal") == true && server?.error?.contains("8000") == true)
        #expect(update.actions.contains(.cancelCheck(F.address("a"))))
        #expect(m.poolGeneration(for: F.address("a")) == 1)
    }

    @Test func handshakeErrorLabelledOverloadChangesNothing() {
        var m = primaryMachine()
        let reply: BSONDocument = ["ok": .int32(0), "code": .int32(462), "errmsg": .string("busy"),
                                   "errorLabels": .array([.string("SystemOverloadedError"), .string("RetryableError")])]
        let error = ApplicationError(address: F.address("a"), generation: 0, maxWireVersion: 21,
                                     phase: .beforeHandshakeCompletes, kind: .command(reply))
        #expect(m.handle(error, now: 3).isEmpty)
        #expect(m.description.servers[F.address("a")]?.type == .rsPrimary)
    }

    @Test func commandErrorAfterTheHandshakeThatIsNoStateChangeChangesNothing() {
        var m = primaryMachine()
        let reply: BSONDocument = ["ok": .int32(0), "code": .int32(2), "errmsg": .string("bad value")]
        let error = ApplicationError(address: F.address("a"), generation: 0, maxWireVersion: 21,
                                     phase: .afterHandshakeCompletes, kind: .command(reply))
        #expect(m.handle(error, now: 3).isEmpty)
    }

    @Test func networkErrorDetailReachesTheDescription() {
        var m = primaryMachine()
        let error = ApplicationError(address: F.address("a"), generation: 0, maxWireVersion: 21,
                                     phase: .afterHandshakeCompletes, kind: .network, detail: "connection reset by peer")
        _ = m.handle(error, now: 3)
        #expect(m.description.servers[F.address("a")]?.error?.contains("connection reset by peer") == true)
    }

    @Test func handshakeDeclaresBackpressureAndClientMetadata() throws {
        let message = Handshake.handshakeMessage(requestID: 1, appName: "app")
        guard case .msg(let msg) = message.payload else {
            Issue.record("expected OP_MSG")
            return
        }
        let command = try BSONDocument(bytes: msg.body)
        #expect(command.keys.first == "isMaster")
        #expect(command["helloOk"] == .bool(true))
        #expect(command["backpressure"] == .string("2"))
        #expect(command["client"]?.documentValue?["application"]?.documentValue?["name"] == .string("app"))
        #expect(command["saslSupportedMechs"] == nil, "monitoring connections never authenticate")
    }

    @Test func applicationNameOver128BytesIsRefused() {
        let long = String(repeating: "%C3%A9", count: 65)  // "é" x 65: 130 bytes of UTF-8
        do {
            _ = try ConnectionString("mongodb://a/?appname=\(long)")
            Issue.record("a 130-byte appname was accepted")
        } catch {
            #expect(error.description.contains("appname") && error.description.contains("128") && error.description.contains("130"), "\(error)")
        }
        #expect(throws: Never.self) { try ConnectionString("mongodb://a/?appname=\(String(repeating: "a", count: 128))") }
    }
}
