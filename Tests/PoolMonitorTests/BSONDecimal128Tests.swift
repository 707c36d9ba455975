import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct BSONDecimal128Tests {
    @Test(arguments: [
        ("0", "0"), ("-0", "-0"), ("1", "1"), ("-1", "-1"), ("1.0", "1.0"), ("0.001", "0.001"),
        ("12345678901234567890", "12345678901234567890"), ("1.23E+5", "1.23E+5"), ("1E3", "1E+3"),
        ("0.0000001", "1E-7"), ("0.000001", "0.000001"), ("-100E-10", "-1.00E-8"), ("+12.76", "12.76"),
        ("1E6112", "1.0E+6112"), ("10E-6177", "1E-6176"), ("0E+8000", "0E+6111"), ("-0E-8000", "-0E-6176"),
        ("1234567890123456789012345678901234", "1234567890123456789012345678901234"),
        ("12345678901234567890123456789012340000", "1.234567890123456789012345678901234E+37"),
        ("9.999999999999999999999999999999999E+6144", "9.999999999999999999999999999999999E+6144"),
        ("Infinity", "Infinity"), ("-inf", "-Infinity"), ("INF", "Infinity"), ("NaN", "NaN"), ("nan", "NaN"),
    ])
    func parsesAndFormats(input: String, canonical: String) throws {
        let d = try #require(BSONDecimal128(string: input))
        #expect(d.description == canonical)
        #expect(BSONDecimal128(string: canonical) == d || d.isNaN)
    }

    @Test func encodesTheSpecBits() throws {
        // From the corpus: 1 is 0x3040000000000000_0000000000000001.
        #expect(BSONDecimal128(string: "1") == BSONDecimal128(low: 1, high: 0x3040_0000_0000_0000))
        #expect(BSONDecimal128(string: "-Infinity") == .negativeInfinity)
        #expect(BSONDecimal128(string: "1E-6176") == BSONDecimal128(low: 1, high: 0))
    }

    @Test(arguments: [
        "", " 1", "1 ", "1e", "E01", ".", "..3", "1..3", "+-1", "--1", "1E+-1", "1.23abc", "Infi", "NaNq",
        "9Inf", ".Infinity", "sNaN", "1e1.0", "123,65",
        // Inexact: more than 34 significant digits, or beyond the exponent range.
        "1.11111111111111111111111111111234549", "100000000000000000000000000000000000000000000000000000000001",
        "1E-6177", "7e10000", "1E+6145",
    ])
    func rejects(input: String) {
        #expect(BSONDecimal128(string: input) == nil)
    }

    @Test func nonCanonicalSignificandsReadAsZero() {
        // Significand above 10^34 - 1: the spec says to read it as zero.
        #expect(BSONDecimal128(low: .max, high: 0x3041_FFFF_FFFF_FFFF).description == "0")
        // The "11" combination form: implicit significand prefix, always too large.
        #expect(BSONDecimal128(low: 0, high: 0x6C11_8000_0000_0000).description == "0E+3")
    }

    @Test func specialsAreClassified() {
        #expect(BSONDecimal128.nan.isNaN)
        #expect(BSONDecimal128.positiveInfinity.isInfinite)
        #expect(BSONDecimal128.negativeInfinity.isNegative)
        #expect(!(BSONDecimal128(string: "5")!.isNaN))
    }
}
