import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct JSONParserTests {
    @Test func keepsMemberOrderAndNumberLexemes() throws {
        let v = try JSONParser.parse(#"{"b": 1.0, "a": [1, -2e3, "x\u00e9\n"], "c": null, "d": true}"#)
        #expect(v.objectValue?.map(\.0) == ["b", "a", "c", "d"])
        #expect(v["b"] == .number("1.0"))
        #expect(v["a"] == .array([.number("1"), .number("-2e3"), .string("xé\n")]))
        #expect(v["c"] == .null)
        #expect(v["d"] == .bool(true))
    }

    @Test func surrogatePairsDecode() throws {
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"", "tru", "[1] 2",
        "\"a\nb\"", "{\"a\":1,}", "1e", "\"\\u12g4\"",
    ])
    func rejectsMalformedText(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func writerRoundTrips() throws {
        let text = #"{"a":[1,2.5,"q\"\\\u0001"],"b":{"c":null,"d":false}}"#
        #expect(JSONWriter.write(try JSONParser.parse(text)) == text)
    }
}
