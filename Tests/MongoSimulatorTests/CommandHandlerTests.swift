import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

/// The pure command handler: hello as a 7.0 server writes it, and the errors of a real member.
@Suite struct CommandHandlerTests {
    let primary = "127.0.0.1:27017", secondary = "127.0.0.1:27018"
    let processId = BSONObjectID(hex: "0123456789abcdef01234567")!
    let now: Int64 = 1_700_000_000_123

    func replicaSet() throws -> ReplicaSetState {
        var set = ReplicaSetState(name: "rs0", members: [primary, secondary])
        try set.elect(primary)
        return set
    }

    func context(_ me: String, _ role: ServerRole, set: ReplicaSetState? = nil) -> ServerContext {
        ServerContext(me: me, role: role, replicaSet: set,
                      topologyVersion: TopologyVersion(processId: processId, counter: 3), connectionId: 7)
    }

    func run(_ command: BSONDocument, _ server: ServerContext, store: inout DataStore, legacy: Bool = false) -> BSONDocument {
        CommandHandler.reply(to: CommandRequest(command: command, database: "test", isLegacy: legacy),
                             server: server, store: &store, now: now)
    }

    func run(_ command: BSONDocument, _ server: ServerContext) -> BSONDocument {
        var store = DataStore(seed: 1, now: now)
        return run(command, server, store: &store)
    }

    @Test func primaryHelloDescribesTheSet() throws {
        let set = try replicaSet()
        let reply = run(["hello": .int32(1), "helloOk": .bool(true)], context(primary, .primary, set: set))
        #expect(reply["isWritablePrimary"] == .bool(true))
        #expect(reply["ismaster"] == nil)
        #expect(reply["secondary"] == .bool(false))
        #expect(reply["hosts"] == .array([.string(primary), .string(secondary)]))
        #expect(reply["setName"] == .string("rs0"))
        #expect(reply["setVersion"] == .int32(1))
        #expect(reply["electionId"] == .objectID(set.electionId!))
        #expect(reply["primary"] == .string(primary))
        #expect(reply["me"] == .string(primary))
        #expect(reply["minWireVersion"] == .int32(0))
        #expect(reply["maxWireVersion"] == .int32(21))
        #expect(reply["localTime"] == .datetime(now))
        #expect(reply["logicalSessionTimeoutMinutes"] == .int32(30))
        #expect(reply["connectionId"] == .int64(7))
        #expect(reply["helloOk"] == .bool(true))
        #expect(reply["ok"] == .double(1))
        #expect(reply["lastWrite"]?.documentValue?["lastWriteDate"] == .datetime(1_700_000_000_000))
        #expect(reply["topologyVersion"] == .document(["processId": .objectID(processId), "counter": .int64(3)]))
        let description = try ServerDescription.parse(address: ServerAddress(primary)!, hello: reply)
        #expect(description.type == .rsPrimary)
    }

    @Test func secondaryHelloHasNoElectionId() throws {
        let reply = run(["hello": .int32(1)], context(secondary, .secondary, set: try replicaSet()))
        #expect(reply["isWritablePrimary"] == .bool(false))
        #expect(reply["secondary"] == .bool(true))
        #expect(reply["electionId"] == nil)
        #expect(reply["primary"] == .string(primary))
        #expect(reply["helloOk"] == nil)
        let description = try ServerDescription.parse(address: ServerAddress(secondary)!, hello: reply)
        #expect(description.type == .rsSecondary)
    }

    @Test func legacyNamesAnswerIsmaster() throws {
        for name in ["isMaster", "ismaster"] {
            let reply = run([name: .int32(1)], context(primary, .primary, set: try replicaSet()))
            #expect(reply["ismaster"] == .bool(true))
            #expect(reply["isWritablePrimary"] == nil)
        }
    }

    @Test func mongosAndStandalone() throws {
        let mongos = run(["hello": .int32(1)], context(primary, .mongos))
        #expect(mongos["msg"] == .string("isdbgrid"))
        #expect(mongos["isWritablePrimary"] == .bool(true))
        #expect(mongos["setName"] == nil)
        #expect(try ServerDescription.parse(address: ServerAddress(primary)!, hello: mongos).type == .mongos)
        let standalone = run(["hello": .int32(1)], context(primary, .standalone))
        #expect(standalone["msg"] == nil)
        #expect(standalone["hosts"] == nil)
        #expect(try ServerDescription.parse(address: ServerAddress(primary)!, hello: standalone).type == .standalone)
    }

    @Test func insertOnSecondaryIsNotWritablePrimary() throws {
        let reply = run(["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])],
                        context(secondary, .secondary, set: try replicaSet()))
        #expect(reply["ok"] == .double(0))
        #expect(reply["code"] == .int32(10107))
        #expect(reply["codeName"] == .string("NotWritablePrimary"))
        #expect(reply["errmsg"] == .string("not primary"))
        #expect(reply["topologyVersion"] != nil)
        #expect(reply["errorLabels"] == nil)
    }

    @Test func retryableWriteOnSecondaryIsLabelledRetryable() throws {
        let reply = run(["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])]), "txnNumber": .int64(1)],
                        context(secondary, .secondary, set: try replicaSet()))
        #expect(reply["code"] == .int32(10107))
        #expect(reply["errorLabels"] == .array([.string("RetryableWriteError")]))
    }

    @Test func readOnSecondaryNeedsANonPrimaryReadPreference() throws {
        let server = context(secondary, .secondary, set: try replicaSet())
        let refused = run(["find": .string("c")], server)
        #expect(refused["code"] == .int32(13435))
        #expect(refused["codeName"] == .string("NotPrimaryNoSecondaryOk"))
        let primaryMode = run(["find": .string("c"), "$readPreference": .document(["mode": .string("primary")])], server)
        #expect(primaryMode["code"] == .int32(13435))
        let allowed = run(["find": .string("c"), "$readPreference": .document(["mode": .string("secondaryPreferred")])], server)
        #expect(allowed["ok"] == .double(1))
    }

    @Test func insertThenFindSharesTheStore() throws {
        let set = try replicaSet()
        var store = DataStore(seed: 1, now: now)
        let inserted = run(["insert": .string("c"), "documents": .array([.document(["x": .int32(1)]), .document(["x": .int32(2)])])],
                           context(primary, .primary, set: set), store: &store)
        #expect(inserted == ["n": .int32(2), "ok": .double(1)])
        let found = run(["find": .string("c"), "filter": .document(["x": .int32(2)]),
                         "$readPreference": .document(["mode": .string("secondary")])],
                        context(secondary, .secondary, set: set), store: &store)
        let cursor = try #require(found["cursor"]?.documentValue)
        #expect(cursor["ns"] == .string("test.c"))
        #expect(cursor["id"] == .int64(0))
        let batch = try #require(cursor["firstBatch"]?.arrayValue)
        #expect(batch.count == 1)
        #expect(batch.first?.documentValue?["x"] == .int32(2))
        #expect(batch.first?.documentValue?["_id"]?.objectIDValue != nil)
    }

    @Test func badInsertsAreTypedErrors() {
        let server = context(primary, .standalone)
        #expect(run(["insert": .string("c")], server)["code"] == .int32(40414))
        #expect(run(["insert": .string("c"), "documents": .int32(1)], server)["code"] == .int32(14))
        #expect(run(["insert": .string("c"), "documents": .array([.int32(1)])], server)["code"] == .int32(14))
        #expect(run(["insert": .string("c"), "documents": .array([])], server)["code"] == .int32(16))
        #expect(run(["insert": .int32(5), "documents": .array([.document([:])])], server)["code"] == .int32(73))
        #expect(run(["find": .string("c"), "filter": .int32(1)], server)["code"] == .int32(14))
    }

    @Test func unknownCommandIsCommandNotFound() {
        let reply = run(["frobnicate": .int32(1)], context(primary, .standalone))
        #expect(reply["ok"] == .double(0))
        #expect(reply["code"] == .int32(59))
        #expect(reply["codeName"] == .string("CommandNotFound"))
        #expect(reply["errmsg"] == .string("no such command: 'frobnicate'"))
    }

    @Test func pingAndBuildInfo() {
        #expect(run(["ping": .int32(1)], context(primary, .mongos)) == ["ok": .double(1)])
        #expect(run(["endSessions": .array([])], context(primary, .mongos)) == ["ok": .double(1)])
        let info = run(["buildInfo": .int32(1)], context(primary, .mongos))
        #expect(info["version"] == .string("7.0.0"))
        #expect(info["ok"] == .double(1))
    }
}
