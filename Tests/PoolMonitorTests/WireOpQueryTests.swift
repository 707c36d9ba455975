import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct WireOpQueryTests {
    let isMaster = WireFixture.document("isMaster", 1)

    @Test func encodesTheLegacyHandshake() throws {
        let query = OpQuery(flags: .secondaryOk, fullCollectionName: "admin.$cmd", query: isMaster)
        let bytes = try WireMessage(requestID: 11, payload: .query(query)).encoded()
        let body: [UInt8] = [4, 0, 0, 0] + Array("admin.$cmd".utf8) + [0]
            + [0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF] + isMaster
        #expect(bytes == WireFixture.frame(requestID: 11, opCode: 2004, body: body))
    }

    @Test func roundTripsWithAndWithoutSelector() throws {
        for selector in [nil, WireFixture.document("ok", 1)] as [[UInt8]?] {
            let message = WireMessage(requestID: 2, payload: .query(OpQuery(
                flags: [.secondaryOk, .exhaust], fullCollectionName: "db.coll", numberToSkip: 3,
                numberToReturn: 10, query: isMaster, returnFieldsSelector: selector)))
            let decoded = try WireMessage.decode(frame: try message.encoded())
            #expect(decoded == message)
            #expect(decoded.opQuery?.returnFieldsSelector == selector)
        }
    }

    @Test func rejectsBytesAfterTheSelector() {
        let body: [UInt8] = [0, 0, 0, 0, 0x61, 0, 0, 0, 0, 0, 0, 0, 0, 0] + isMaster + WireFixture.empty + [9, 9]
        #expect(throws: WireError(.trailingBytes(count: 2, context: "the OP_QUERY returnFieldsSelector"))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 2004, body: body))
        }
    }

    @Test func rejectsAnUnterminatedCollectionName() {
        let body: [UInt8] = [0, 0, 0, 0, 0x61, 0x62]
        #expect(throws: WireError(.unterminatedCString(field: "OP_QUERY fullCollectionName", available: 2))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 2004, body: body))
        }
    }

    @Test func encodingRefusesNulInCollectionName() {
        let message = WireMessage(requestID: 1, payload: .query(OpQuery(fullCollectionName: "admin\u{0}.$cmd", query: isMaster)))
        #expect(throws: WireError(.cStringContainsNull(field: "OP_QUERY fullCollectionName"))) {
            try message.encoded()
        }
    }
}
