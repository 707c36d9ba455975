import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// A hello reply as a replica set member sends it: about 20 fields and a 7-host array.
let helloReply: BSONDocument = [
    "topologyVersion": .document(["processId": .objectID(BSONObjectID(hex: "5f1b2c3d4e5f60718293a4b5")!), "counter": .int64(6)]),
    "hosts": .array((1...7).map { .string("db\($0).example.com:27017") }),
    "setName": .string("rs0"),
    "setVersion": .int32(3),
    "isWritablePrimary": .bool(true),
    "secondary": .bool(false),
    "primary": .string("db1.example.com:27017"),
    "me": .string("db1.example.com:27017"),
    "electionId": .objectID(BSONObjectID(hex: "7fffffff0000000000000003")!),
    "lastWrite": .document(["opTime": .document(["ts": .timestamp(BSONTimestamp(timestamp: 1_700_000_000, increment: 1)), "t": .int64(3)]),
                            "lastWriteDate": .datetime(1_700_000_000_000)]),
    "maxBsonObjectSize": .int32(16_777_216),
    "maxMessageSizeBytes": .int32(48_000_000),
    "maxWriteBatchSize": .int32(100_000),
    "localTime": .datetime(1_700_000_000_123),
    "logicalSessionTimeoutMinutes": .int32(30),
    "connectionId": .int32(42),
    "minWireVersion": .int32(0),
    "maxWireVersion": .int32(21),
    "readOnly": .bool(false),
    "ok": .double(1),
]

@Suite struct BSONDocumentViewTests {
    @Test func readsTopLevelFieldsByKey() throws {
        let view = try BSONDocumentView(bytes: helloReply.encoded())
        #expect(view.count == helloReply.count)
        #expect(view.keys == helloReply.keys)
        #expect(view["setName"] == .string("rs0"))
        #expect(view.value(forKey: "maxWireVersion") == .int32(21))
        #expect(view["hosts"]?.arrayValue?.count == 7)
        #expect(view["ok"]?.isTruthy == true)
        #expect(view["lastWrite"] == helloReply["lastWrite"])
        #expect(view["absent"] == nil)
    }

    @Test func convertsToTheSameDocumentAsTheDecoder() throws {
        let bytes = helloReply.encoded()
        let view = try BSONDocumentView(bytes: bytes)
        #expect(view.document() == helloReply)
        #expect(BSONDocument(view) == (try BSONDocument(bytes: bytes)))
    }

    @Test func duplicateKeysFindTheFirst() throws {
        let view = try BSONDocumentView(bytes: bsonBytes("1700000010666f6f000100000010666f6f000200000000"))
        #expect(view["foo"] == .int32(1))
        #expect(view.keys == ["foo", "foo"])
    }

    @Test func worksOnASliceOfALargerBuffer() throws {
        let buffer = [0xDE, 0xAD] + helloReply.encoded() + [0xBE, 0xEF]
        let view = try BSONDocumentView(bytes: buffer[2..<(buffer.count - 2)])
        #expect(view["me"] == .string("db1.example.com:27017"))
    }

    @Test func validatesNestedValuesUpFront() {
        // {"a": {"b": true}} with the inner boolean byte set to 2: the view must reject the
        // frame even though "a" is never read.
        let bytes = bsonBytes("11000000 03 6100 09000000 08 6200 02 00 00")
        do {
            _ = try BSONDocumentView(bytes: bytes)
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .invalidBoolean)
            #expect(error.offset == 14)
        }
    }

    @Test func rejectsTrailingBytesLikeTheDecoder() {
        #expect(throws: BSONDecodingError(.trailingBytes, at: 5, expected: "the end of the input after the top-level document",
                                          found: "1 more bytes")) {
            try BSONDocumentView(bytes: bsonBytes("0500000000 00"))
        }
    }
}
