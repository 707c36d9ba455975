import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct BSONExtendedJSONTests {
    @Test func canonicalWrapsEveryType() {
        let document: BSONDocument = [
            "i": .int32(1), "l": .int64(2), "d": .double(1), "n": .double(-.infinity),
            "t": .datetime(0), "b": .binary(BSONBinary(subtype: 0x80, data: [1, 2, 3])),
        ]
        #expect(document.canonicalExtendedJSON() == #"{"i":{"$numberInt":"1"},"l":{"$numberLong":"2"},"d":{"$numberDouble":"1.0"},"n":{"$numberDouble":"-Infinity"},"t":{"$date":{"$numberLong":"0"}},"b":{"$binary":{"base64":"AQID","subType":"80"}}}"#)
    }

    @Test func relaxedWritesPlainNumbersAndISODates() {
        let document: BSONDocument = [
            "i": .int32(1), "l": .int64(2), "d": .double(-0.0), "big": .double(1.2345678921232e18),
            "t": .datetime(1_356_351_330_501), "old": .datetime(-1), "nan": .double(.nan),
        ]
        #expect(document.relaxedExtendedJSON() == #"{"i":1,"l":2,"d":-0.0,"big":1.2345678921232E+18,"t":{"$date":"2012-12-24T12:15:30.501Z"},"old":{"$date":{"$numberLong":"-1"}},"nan":{"$numberDouble":"NaN"}}"#)
    }

    @Test func perValueWriters() {
        #expect(BSON.int64(5).canonicalExtendedJSON() == #"{"$numberLong":"5"}"#)
        #expect(BSON.int64(5).relaxedExtendedJSON() == "5")
        #expect(BSON.regex(BSONRegularExpression(pattern: "a\"b", options: "xi")).canonicalExtendedJSON()
                == #"{"$regularExpression":{"pattern":"a\"b","options":"ix"}}"#)
        #expect(BSON.timestamp(BSONTimestamp(timestamp: 42, increment: 1)).relaxedExtendedJSON() == #"{"$timestamp":{"t":42,"i":1}}"#)
    }

    @Test(arguments: [1.0, -1.0, 0.1, 1e-7, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 123456789.125, 1e16])
    func doublesRoundTripThroughTheirText(value: Double) throws {
        let document: BSONDocument = ["d": .double(value)]
        #expect(try ExtendedJSON.document(from: document.canonicalExtendedJSON()) == document)
        #expect(try ExtendedJSON.document(from: document.relaxedExtendedJSON()) == document)
    }

    @Test func everyTypeRoundTripsThroughCanonicalText() throws {
        #expect(try ExtendedJSON.document(from: everyTypeDocument.canonicalExtendedJSON()) == everyTypeDocument)
    }

    @Test func readerAcceptsLegacyAndAlternativeForms() throws {
        let document = try ExtendedJSON.document(from: #"""
            {"u": {"$uuid": "73ffd264-44b3-4c69-90e8-e7d1dfc035d4"},
             "b": {"$binary": "//8=", "$type": "80"},
             "r": {"$regex": "ab", "$options": "mi"},
             "q": {"$regex": {"$regularExpression": {"pattern": "p", "options": ""}}, "$options": "ix"},
             "t": {"$type": "string"},
             "d": {"$date": "1970-01-01T00:00:01.5+01:00"}}
            """#)
        #expect(document["u"] == .binary(BSONBinary(subtype: 4, data: bsonBytes("73ffd26444b34c6990e8e7d1dfc035d4"))))
        #expect(document["b"] == .binary(BSONBinary(subtype: 0x80, data: [0xFF, 0xFF])))
        #expect(document["r"] == .regex(BSONRegularExpression(pattern: "ab", options: "im")))
        #expect(document["q"]?.documentValue?.keys == ["$regex", "$options"])
        #expect(document["t"] == .document(["$type": .string("string")]))
        #expect(document["d"] == .datetime(1500 - 3_600_000))
    }

    @Test(arguments: [
        #"{"a": {"$date": 42}}"#,
        #"{"a\u0000": 1}"#,
        #"{"a": {"b\u0000": 1}}"#,
        #"{"a": {"$regularExpression": {"pattern": "b\u0000", "options": ""}}}"#,
        #"{"a": {"$regex": "b", "$options": "i\u0000"}}"#,
        #"{"a": {"x": 1, "$numberInt": "42"}}"#,
        #"{"a": {"$numberDecimal": "1.11111111111111111111111111111234549"}}"#,
        #"{"a": {"$date": {"$numberInt": "1"}}}"#,
        #"{"a": {"$uuid": "73ffd264-44b3-4c69-90e8e7d1dfc035d4"}}"#,
    ])
    func readerRejects(text: String) {
        #expect(throws: (any Error).self) { try ExtendedJSON.document(from: text) }
    }
}
