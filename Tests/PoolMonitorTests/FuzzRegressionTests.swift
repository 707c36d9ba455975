import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Inputs the libFuzzer targets in `Fuzz/` found to break an invariant, kept as tests once
/// fixed. Each test names its target and what went wrong.
@Suite struct FuzzRegressionTests {
    /// FuzzHello (via the BSON checks): `{o: 1, "": <double>, "$regularExpression": true}`.
    /// Its Extended JSON did not read back, because the reader took the top-level object for
    /// a malformed `$regularExpression` wrapper; the spec applies wrapper rules only below the
    /// top level.
    static let topLevelWrapperKey = bsonBytes("2b000000106f0001000000010000feffffffeffdfe0824726567756c617245787072657373696f6e000100")

    @Test func documentWithATopLevelWrapperKeySurvivesExtendedJSON() throws {
        let document = try BSONDocument(bytes: Self.topLevelWrapperKey)
        #expect(document.keys == ["o", "", "$regularExpression"])
        for text in [document.canonicalExtendedJSON(), document.relaxedExtendedJSON()] {
            let read = try ExtendedJSON.document(from: text)
            #expect(read.encoded() == Self.topLevelWrapperKey, "\(text)")
        }
    }

    @Test func topLevelObjectIsNeverATypeWrapper() throws {
        let document = try ExtendedJSON.document(from: #"{"$oid": 1, "a": {"$numberInt": "2"}}"#)
        #expect(document == ["$oid": .int32(1), "a": .int32(2)])
        let lone = try ExtendedJSON.document(from: #"{"$numberInt": "7"}"#)
        #expect(lone == ["$numberInt": .string("7")])
    }

    @Test func nestedMalformedWrapperIsStillAnError() {
        #expect(throws: ExtendedJSONError.self) {
            try ExtendedJSON.document(from: #"{"x": {"$oid": 1, "a": 2}}"#)
        }
    }
}
