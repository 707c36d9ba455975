import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

@Suite struct WireExchangeTests {
    func message(_ payload: WireMessage.Payload) -> WireMessage {
        WireMessage(requestID: 42, payload: payload)
    }

    @Test func opMsgFoldsDocumentSequencesIntoTheCommand() {
        let body: BSONDocument = ["insert": .string("c"), "$db": .string("test")]
        let msg = OpMsg(body: body.encoded(), documentSequences: [
            .init(identifier: "documents", documents: [bson(["x": .int32(1)]).encoded()]),
        ])
        guard case .command(let request) = WireExchange.request(from: message(.msg(msg))) else {
            Issue.record("expected a command")
            return
        }
        #expect(request.name == "insert")
        #expect(request.database == "test")
        #expect(!request.isLegacy)
        #expect(request.command["documents"] == .array([.document(["x": .int32(1)])]))
    }

    @Test func opMsgWithoutDbIsRefused() {
        let msg = OpMsg(body: bson(["ping": .int32(1)]).encoded())
        guard case .failure(let error, false) = WireExchange.request(from: message(.msg(msg))) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error["code"] == .int32(40571))
    }

    @Test func invalidBSONBodyIsAnErrorReply() {
        // Framing is right (length 6, terminator 0) but the element type 0x99 does not exist.
        let msg = OpMsg(body: [6, 0, 0, 0, 0x99, 0])
        guard case .failure(let error, false) = WireExchange.request(from: message(.msg(msg))) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error["code"] == .int32(22))
    }

    @Test func legacyIsMasterIsACommand() {
        let query = OpQuery(flags: [.secondaryOk], fullCollectionName: "admin.$cmd", query: bson(["isMaster": .int32(1)]).encoded())
        guard case .command(let request) = WireExchange.request(from: message(.query(query))) else {
            Issue.record("expected a command")
            return
        }
        #expect(request.isLegacy)
        #expect(request.isHello)
        #expect(request.database == "admin")
    }

    @Test func legacyWrappedQueryIsUnwrapped() {
        let wrapped: BSONDocument = ["$query": .document(["ismaster": .int32(1)]),
                                     "$readPreference": .document(["mode": .string("primaryPreferred")])]
        let query = OpQuery(fullCollectionName: "db.$cmd", query: wrapped.encoded())
        guard case .command(let request) = WireExchange.request(from: message(.query(query))) else {
            Issue.record("expected a command")
            return
        }
        #expect(request.name == "ismaster")
        #expect(request.command["$readPreference"] != nil)
    }

    @Test func legacyNonHelloCommandsAreUnsupported() {
        let query = OpQuery(fullCollectionName: "admin.$cmd", query: bson(["ping": .int32(1)]).encoded())
        guard case .failure(let error, false) = WireExchange.request(from: message(.query(query))) else {
            Issue.record("expected a failure")
            return
        }
        #expect(error["code"] == .int32(352))
        let collectionQuery = OpQuery(fullCollectionName: "test.c", query: BSONDocument().encoded())
        guard case .failure(_, true) = WireExchange.request(from: message(.query(collectionQuery))) else {
            Issue.record("expected a query failure")
            return
        }
    }

    @Test func aReplyFromAClientIsAProtocolViolation() {
        guard case .protocolViolation = WireExchange.request(from: message(.reply(OpReply(documents: [])))) else {
            Issue.record("expected a protocol violation")
            return
        }
    }

    @Test func repliesMatchTheRequestOpcode() throws {
        let doc: BSONDocument = ["ok": .double(1)]
        let query = message(.query(OpQuery(fullCollectionName: "admin.$cmd", query: bson(["isMaster": .int32(1)]).encoded())))
        let legacy = try #require(WireExchange.reply(doc, to: query, requestID: 9))
        #expect(legacy.responseTo == 42)
        #expect(legacy.opReply?.documents == [doc.encoded()])
        let failed = try #require(WireExchange.reply(doc, queryFailure: true, to: query, requestID: 9))
        #expect(failed.opReply?.queryFailure == true)
        let msg = message(.msg(OpMsg(body: doc.encoded())))
        #expect(WireExchange.reply(doc, to: msg, requestID: 9)?.opMsg?.body == doc.encoded())
        let fireAndForget = message(.msg(OpMsg(flags: [.moreToCome], body: doc.encoded())))
        #expect(WireExchange.reply(doc, to: fireAndForget, requestID: 9) == nil)
    }
}
