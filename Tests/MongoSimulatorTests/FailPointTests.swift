import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// The `failCommand` fail point over loopback, configured with `configureFailPoint` on the wire
/// as tests do against real servers: each mode and data field, appName filtering, the count
/// down of `times`, and that a blocked connection delays only itself.
@Suite struct FailPointTests {
    func startSet(topologyVersion: Bool = false) throws -> MongoSimulator {
        try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 2), topologyVersion: topologyVersion))
    }

    /// `{configureFailPoint: "failCommand", mode, data}` sent over a fresh connection.
    @discardableResult
    func configure(_ address: String, mode: BSON, data: BSONDocument = [:]) throws -> BSONDocument {
        var command: BSONDocument = ["configureFailPoint": .string("failCommand"), "mode": mode]
        if !data.isEmpty { command.append("data", .document(data)) }
        return try SimulatorTestClient(address).command(command)
    }

    func failCommands(_ names: String...) -> BSON { .array(names.map { .string($0) }) }

    /// A connection whose handshake (legacy isMaster over OP_MSG, as our driver sends it)
    /// names `appName`.
    func connection(_ address: String, appName: String?) throws -> SimulatorTestClient {
        let client = try SimulatorTestClient(address)
        var hello: BSONDocument = ["isMaster": .int32(1), "helloOk": .bool(true)]
        var metadata: BSONDocument = ["driver": .document(["name": .string("test"), "version": .string("0")])]
        if let appName { metadata.append("application", .document(["name": .string(appName)])) }
        hello.append("client", .document(metadata))
        #expect(try client.command(hello)["ok"] == .double(1))
        return client
    }

    func milliseconds(since start: UInt64) -> Double { Double(MonotonicClock.nanoseconds() - start) / 1e6 }

    // MARK: - Configuring

    @Test func configureRepliesWithTheCountOfThePreviousOne() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let reply = try configure(address, mode: .string("alwaysOn"), data: ["failCommands": failCommands("ping"), "errorCode": .int32(2)])
        #expect(reply == ["count": .int64(0), "ok": .double(1)])
        let client = try SimulatorTestClient(address)
        for _ in 0..<3 { #expect(try client.command(["ping": .int32(1)])["ok"] == .double(0)) }
        #expect(try configure(address, mode: .string("off"))["count"] == .int64(3))
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
    }

    @Test func malformedConfigurationsAreRefused() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let client = try SimulatorTestClient(address)
        let cases: [(BSONDocument, String)] = [
            (["configureFailPoint": .string("rsSyncApplyStop"), "mode": .string("alwaysOn")], "unknown fail point"),
            (["configureFailPoint": .string("failCommand"), "mode": .string("sometimes"), "data": .document(["failCommands": failCommands("ping")])], "mode"),
            (["configureFailPoint": .string("failCommand"), "mode": .document(["times": .int32(1), "skip": .int32(1)]), "data": .document(["failCommands": failCommands("ping")])], "mode"),
            (["configureFailPoint": .string("failCommand"), "mode": .string("alwaysOn")], "failCommands"),
            (["configureFailPoint": .string("failCommand"), "mode": .string("alwaysOn"),
              "data": .document(["failCommands": failCommands("ping"), "blockConnection": .bool(true)])], "blockTimeMS"),
        ]
        for (command, words) in cases {
            let reply = try client.command(command)
            #expect(reply["ok"] == .double(0) && reply["code"] == .int32(2), "\(command): \(reply)")
            #expect(reply["errmsg"]?.stringValue?.contains(words) == true, "\(reply)")
        }
        let elsewhere = try client.command(["configureFailPoint": .string("failCommand"), "mode": .string("off")], database: "test")
        #expect(elsewhere["code"] == .int32(13), "admin only: \(elsewhere)")
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1), "nothing was configured")
    }

    // MARK: - Modes

    @Test func timesCountsDownThenTurnsOff() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["times": .int32(2)]), data: ["failCommands": failCommands("ping"), "errorCode": .int32(8)])
        let client = try SimulatorTestClient(address)
        #expect(try client.command(["buildInfo": .int32(1)])["ok"] == .double(1), "a command not named does not count")
        #expect(try client.command(["ping": .int32(1)])["code"] == .int32(8))
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["code"] == .int32(8), "counted per server, not per connection")
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(try configure(address, mode: .string("off"))["count"] == .int64(2), "it triggered twice, then turned itself off")
    }

    @Test func alwaysOnUntilOff() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: ["failCommands": failCommands("ping", "find"), "errorCode": .int32(8)])
        let client = try SimulatorTestClient(address)
        for _ in 0..<5 { #expect(try client.command(["ping": .int32(1)])["code"] == .int32(8)) }
        #expect(try client.command(["find": .string("c")], database: "db")["code"] == .int32(8))
        try configure(address, mode: .string("off"))
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
    }

    @Test func skipLetsTheFirstThrough() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["skip": .int32(2)]), data: ["failCommands": failCommands("ping"), "errorCode": .int32(8)])
        let client = try SimulatorTestClient(address)
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(try client.command(["ping": .int32(1)])["ok"] == .double(1))
        for _ in 0..<3 { #expect(try client.command(["ping": .int32(1)])["code"] == .int32(8)) }
    }

    @Test func pureTriggerCounting() throws {
        var point = FailCommandFailPoint(mode: .times(2), failCommands: ["ismaster"], errorCode: 1)
        let legacy = CommandRequest(command: ["ismaster": .int32(1)], database: "admin", isLegacy: true)
        let hello = CommandRequest(command: ["hello": .int32(1)], database: "admin")
        #expect(point.trigger(hello, appName: nil, topologyVersion: nil) == nil, "hello is not isMaster")
        #expect(point.trigger(legacy, appName: nil, topologyVersion: nil)?.outcome != nil, "ismaster is isMaster")
        #expect(point.mode == .times(1))
        _ = point.trigger(legacy, appName: nil, topologyVersion: nil)
        #expect(point.mode == .off && point.timesEntered == 2)
        #expect(point.trigger(legacy, appName: nil, topologyVersion: nil) == nil)
    }

    // MARK: - Data

    @Test func errorCodeAndErrorLabels() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: [
            "failCommands": failCommands("insert"), "errorCode": .int32(462),
            "errorLabels": .array([.string("SystemOverloadedError"), .string("RetryableError")]),
        ])
        let reply = try SimulatorTestClient(address).command(
            ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])]), "txnNumber": .int64(1)], database: "db")
        #expect(reply["ok"] == .double(0))
        #expect(reply["code"] == .int32(462))
        #expect(reply["errmsg"] == .string("Failing command via 'failCommand' failpoint"))
        #expect(reply["errorLabels"] == .array([.string("SystemOverloadedError"), .string("RetryableError")]), "exactly the labels given")
        let find = try SimulatorTestClient(address).command(["find": .string("c")], database: "db")
        #expect(find["ok"] == .double(1), "find is not named: \(find)")
    }

    @Test func stateChangeErrorsCarryTopologyVersionAndRetryableWritesTheirLabel() throws {
        let simulator = try startSet(topologyVersion: true)
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: ["failCommands": failCommands("insert", "ping"), "errorCode": .int32(91)])
        let client = try SimulatorTestClient(address)
        let write = try client.command(
            ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])]), "txnNumber": .int64(1)], database: "db")
        #expect(write["code"] == .int32(91))
        #expect(write["topologyVersion"]?.documentValue?["processId"] != nil, "\(write)")
        #expect(write["errorLabels"] == .array([.string("RetryableWriteError")]))
        let ping = try client.command(["ping": .int32(1)])
        #expect(ping["errorLabels"] == nil, "not a retryable write")
    }

    @Test func closeConnectionClosesWithoutAReply() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["times": .int32(1)]), data: ["failCommands": failCommands("ping"), "closeConnection": .bool(true)])
        let client = try SimulatorTestClient(address)
        _ = try client.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        let (bytes, end) = client.readRaw(for: 5)
        #expect(bytes.isEmpty && end == .closed, "no reply, then EOF")
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["ok"] == .double(1), "times: 1 is spent")
        #expect(eventually { simulator.statistics(for: address)?.openConnections == 0 })
    }

    @Test func writeConcernErrorIsAddedToTheSuccessfulReply() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let primary = try #require(try simulator.replicaSetState()?.primary)
        let wce: BSONDocument = ["code": .int32(91), "errmsg": .string("Replication is being shut down")]
        try configure(primary, mode: .document(["times": .int32(1)]), data: [
            "failCommands": failCommands("insert"), "writeConcernError": .document(wce),
        ])
        let client = try SimulatorTestClient(primary)
        let insert: BSONDocument = ["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])]
        let reply = try client.command(insert, database: "db")
        #expect(reply["ok"] == .double(1) && reply["n"]?.int64Value == 1, "the write ran: \(reply)")
        #expect(reply["writeConcernError"] == .document(wce))
        #expect(try client.command(insert, database: "db")["writeConcernError"] == nil)
    }

    // MARK: - appName

    @Test func appNameLimitsItToConnectionsThatHandshookWithIt() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: [
            "failCommands": failCommands("ping"), "errorCode": .int32(8), "appName": .string("victim"),
        ])
        #expect(try connection(address, appName: "victim").command(["ping": .int32(1)])["code"] == .int32(8))
        #expect(try connection(address, appName: "bystander").command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(try connection(address, appName: nil).command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["ok"] == .double(1), "no handshake, no app name")
    }

    @Test func theHandshakeItselfCanFailForItsAppName() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: [
            "failCommands": failCommands("hello", "isMaster"), "errorCode": .int32(11600), "appName": .string("victim"),
        ])
        let metadata: BSON = .document(["application": .document(["name": .string("victim")])])
        // Over OP_MSG (this driver) and over OP_QUERY (older drivers), answered in kind.
        let msg = try SimulatorTestClient(address).command(["isMaster": .int32(1), "helloOk": .bool(true), "client": metadata])
        #expect(msg["code"] == .int32(11600))
        let legacy = try SimulatorTestClient(address).legacyCommand(["isMaster": .int32(1), "client": metadata])
        let document = try BSONDocument(bytes: try #require(legacy.documents.first))
        #expect(document["code"] == .int32(11600))
        #expect(try simulator.hello(address)["ok"] == .double(1), "monitoring without the app name is not affected")
    }

    // MARK: - blockConnection

    @Test func blockConnectionDelaysOnlyTheBlockedConnection() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let (address, other) = (simulator.addresses[0], simulator.addresses[1])
        // Filtered by appName, so that which connection's ping the loop reads first does not
        // decide which one is blocked.
        try configure(address, mode: .document(["times": .int32(1)]), data: [
            "failCommands": failCommands("ping"), "blockConnection": .bool(true), "blockTimeMS": .int32(400),
            "appName": .string("blocked"),
        ])
        let blocked = try connection(address, appName: "blocked")
        let start = MonotonicClock.nanoseconds()
        let pingID = try blocked.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        // A second request on the blocked connection queues behind the first.
        let buildInfoID = try blocked.send(.msg(OpMsg(body: bson(["buildInfo": .int32(1), "$db": .string("admin")]).encoded())))

        // Meanwhile the loop serves the same server's other connections and the other server.
        let sameServer = try SimulatorTestClient(address)
        for _ in 0..<5 {
            #expect(try sameServer.command(["ping": .int32(1)])["ok"] == .double(1))
            #expect(try simulator.hello(other)["ok"] == .double(1))
        }
        let othersDone = milliseconds(since: start)
        #expect(othersDone < 300, "the other connections waited for the blocked one: \(othersDone) ms")

        let ping = try blocked.receive(respondingTo: pingID)
        let pingMS = milliseconds(since: start)
        #expect(pingMS >= 395, "blockTimeMS is 400: \(pingMS) ms")
        #expect(pingMS < 2_000)
        #expect(try BSONDocument(bytes: try #require(ping.opMsg).body)["ok"] == .double(1), "blocked, then run")
        let buildInfo = try blocked.receive(respondingTo: buildInfoID)
        #expect(try BSONDocument(bytes: try #require(buildInfo.opMsg).body)["version"] != nil, "then the queued request")
        let again = MonotonicClock.nanoseconds()
        #expect(try blocked.command(["ping": .int32(1)])["ok"] == .double(1))
        #expect(milliseconds(since: again) < 200, "times: 1 is spent")
    }

    @Test func blockThenErrorAndBlockThenClose() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["times": .int32(1)]), data: [
            "failCommands": failCommands("ping"), "blockConnection": .bool(true), "blockTimeMS": .int32(150), "errorCode": .int32(8),
        ])
        var start = MonotonicClock.nanoseconds()
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["code"] == .int32(8))
        #expect(milliseconds(since: start) >= 145)

        try configure(address, mode: .document(["times": .int32(1)]), data: [
            "failCommands": failCommands("ping"), "blockConnection": .bool(true), "blockTimeMS": .int32(150), "closeConnection": .bool(true),
        ])
        let client = try SimulatorTestClient(address)
        start = MonotonicClock.nanoseconds()
        _ = try client.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        #expect(client.staysSilent(for: 0.1), "nothing before blockTimeMS")
        #expect(client.isClosedByServer(within: 5))
        #expect(milliseconds(since: start) >= 145)
    }

    @Test func aBlockedHandshakeWithTheAppNameOfTheCMAPTests() throws {
        // The shape of the CMAP format tests' fail points: the handshake of one app blocked.
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["times": .int32(50)]), data: [
            "failCommands": failCommands("isMaster", "hello"), "closeConnection": .bool(false),
            "blockConnection": .bool(true), "blockTimeMS": .int32(200), "appName": .string("PoolCheckoutMaxConnectingTimeout"),
        ])
        var start = MonotonicClock.nanoseconds()
        _ = try connection(address, appName: "PoolCheckoutMaxConnectingTimeout")
        #expect(milliseconds(since: start) >= 195)
        start = MonotonicClock.nanoseconds()
        _ = try connection(address, appName: "monitor")
        #expect(milliseconds(since: start) < 150)
    }

    @Test func aBlockedConnectionThatClosesIsDroppedAndTheServerStopsCleanly() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .string("alwaysOn"), data: [
            "failCommands": failCommands("ping"), "blockConnection": .bool(true), "blockTimeMS": .int32(10_000),
        ])
        let client = try SimulatorTestClient(address)
        _ = try client.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        #expect(eventually { simulator.statistics(for: address)?.openConnections == 1 })
        client.close()
        #expect(eventually { simulator.statistics(for: address)?.openConnections == 0 })
        let stopStart = MonotonicClock.nanoseconds()
        simulator.stop()
        #expect(milliseconds(since: stopStart) < 1_000, "no 10 s timer keeps the loop")
    }

    @Test func aBlockThatEndsWhileTheServerIsHungFinishesOnRevive() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        try configure(address, mode: .document(["times": .int32(1)]), data: [
            "failCommands": failCommands("ping"), "blockConnection": .bool(true), "blockTimeMS": .int32(50),
        ])
        let client = try SimulatorTestClient(address)
        let id = try client.send(.msg(OpMsg(body: bson(["ping": .int32(1), "$db": .string("admin")]).encoded())))
        try simulator.hang(address)
        #expect(client.staysSilent(for: 0.2), "a hung server answers nothing")
        try simulator.revive(address)
        let reply = try client.receive(respondingTo: id)
        #expect(try BSONDocument(bytes: try #require(reply.opMsg).body)["ok"] == .double(1))
    }

    // MARK: - Per server, lifetime, console

    @Test func aFailPointAppliesToItsServerOnlyAndARestartClearsIt() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let (address, other) = (simulator.addresses[0], simulator.addresses[1])
        let reply = try simulator.configureFailPoint([
            "configureFailPoint": .string("failCommand"), "mode": .string("alwaysOn"),
            "data": .document(["failCommands": failCommands("ping"), "errorCode": .int32(8)]),
        ], on: address)
        #expect(reply["ok"] == .double(1))
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["code"] == .int32(8))
        #expect(try SimulatorTestClient(other).command(["ping": .int32(1)])["ok"] == .double(1))
        try simulator.kill(address)
        try simulator.revive(address)
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["ok"] == .double(1), "a new process has no fail point")
    }

    @Test func theConsoleSetsAndClearsFailPoints() throws {
        let simulator = try startSet()
        defer { simulator.stop() }
        let address = simulator.addresses[0]
        let console = ControlConsole(simulator: simulator)
        let set = console.respond(to: #"failpoint \#(address) {"mode": {"times": 1}, "data": {"failCommands": ["ping"], "errorCode": 8}}"#)
        #expect(set.answer.hasPrefix("ok \(address) fail point"), "\(set.answer)")
        #expect(try SimulatorTestClient(address).command(["ping": .int32(1)])["code"] == .int32(8))
        #expect(console.respond(to: "failpoint \(address) {\"mode\": \"alwaysOn\"}").answer.contains("failCommands"), "refusals are reported")
        #expect(console.respond(to: "failpoint \(address) off").answer.hasPrefix("ok"))
        #expect(console.respond(to: "failpoint \(address) {not json").answer.hasPrefix("error"))
        #expect(throws: ControlCommand.ParseError.self) { try ControlCommand(parsing: "failpoint \(address)") }
        #expect(try ControlCommand(parsing: #"failpoint 127.0.0.1:5 {"configureFailPoint": "failCommand", "mode": "off"}"#)
                == .failPoint("127.0.0.1:5", ["configureFailPoint": .string("failCommand"), "mode": .string("off")]))
    }
}
