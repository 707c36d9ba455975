import Testing
import MongoAuth

/// SASLprep against RFC 4013's examples and one case for each table and rule.
@Suite struct SASLprepTests {
    /// RFC 4013 section 3, the examples that prepare.
    @Test(arguments: [
        ("I\u{00AD}X", "IX"),      // soft hyphen mapped to nothing
        ("user", "user"),          // no transformation
        ("USER", "USER"),          // case preserved
        ("\u{00AA}", "a"),         // NFKC
        ("\u{2168}", "IX"),        // NFKC: ROMAN NUMERAL NINE
    ])
    func rfc4013Examples(input: String, prepared: String) throws {
        #expect(try SASLprep.prepare(input) == prepared)
    }

    /// RFC 4013 section 3: "<U+0007>" is prohibited.
    @Test func rfc4013ControlCharacterIsRefused() {
        #expect(throws: SASLprepError(rule: .asciiControl, codePoint: "\u{0007}")) { try SASLprep.prepare("\u{0007}") }
    }

    /// RFC 4013 section 3: "<U+0627><U+0031>" breaks the bidi rule (a right-to-left string must
    /// end with a right-to-left character; U+0031 is a European number).
    @Test func rfc4013BidiExampleIsRefused() {
        #expect(throws: SASLprepError(rule: .rightToLeftNotAtBothEnds, codePoint: "\u{0031}")) { try SASLprep.prepare("\u{0627}\u{0031}") }
    }

    @Test func rightToLeftStringBracketedByRightToLeftCharactersPrepares() throws {
        #expect(try SASLprep.prepare("\u{0627}\u{0031}\u{0628}") == "\u{0627}\u{0031}\u{0628}")
    }

    @Test func mixedDirectionsAreRefusedNamingTheLeftToRightCharacter() {
        #expect(throws: SASLprepError(rule: .mixedDirections, codePoint: "a")) { try SASLprep.prepare("\u{0627}a\u{0628}") }
    }

    @Test func nonASCIISpacesMapToSpace() throws {
        #expect(try SASLprep.prepare("a\u{00A0}b\u{3000}c\u{2003}d") == "a b c d")
    }

    /// B.1 wins over C.1.2 for U+200B, which both list: it is removed, not turned into a space.
    @Test func zeroWidthSpaceIsMappedToNothing() throws {
        #expect(try SASLprep.prepare("a\u{200B}b\u{FEFF}c\u{FE0F}") == "abc")
    }

    /// One code point from each prohibition table, and the rule it is reported under.
    @Test(arguments: [
        (Unicode.Scalar(0x0000)!, SASLprepError.Rule.asciiControl),
        (Unicode.Scalar(0x007F)!, .asciiControl),
        (Unicode.Scalar(0x0085)!, .nonASCIIControl),
        (Unicode.Scalar(0x2028)!, .nonASCIIControl),
        (Unicode.Scalar(0x1D173)!, .nonASCIIControl),
        (Unicode.Scalar(0xE000)!, .privateUse),
        (Unicode.Scalar(0x10FFFD)!, .privateUse),
        (Unicode.Scalar(0xFDD0)!, .nonCharacter),
        (Unicode.Scalar(0x1FFFF)!, .nonCharacter),
        (Unicode.Scalar(0xFFFD)!, .inappropriateForPlainText),
        (Unicode.Scalar(0x2FF0)!, .inappropriateForCanonicalRepresentation),
        (Unicode.Scalar(0x200E)!, .changesDisplayProperties),
        (Unicode.Scalar(0x202E)!, .changesDisplayProperties),
        (Unicode.Scalar(0xE0001)!, .tagging),
        (Unicode.Scalar(0xE0041)!, .tagging),
    ])
    func prohibitedCodePointsAreRefused(scalar: Unicode.Scalar, rule: SASLprepError.Rule) {
        #expect(throws: SASLprepError(rule: rule, codePoint: scalar)) { try SASLprep.prepare("ab\(Character(scalar))cd") }
    }

    /// U+0221 and U+0870 were unassigned in Unicode 3.2 (both are assigned today), and U+E0080 is
    /// in A.1's range E0080-EFFFF.
    @Test(arguments: [0x0221, 0x0870, 0xE0080] as [UInt32])
    func unassignedCodePointsAreRefusedForStoredStrings(value: UInt32) throws {
        let scalar = try #require(Unicode.Scalar(value))
        let string = "x\(Character(scalar))"
        #expect(throws: SASLprepError(rule: .unassigned, codePoint: scalar)) { try SASLprep.prepare(string) }
        #expect(try SASLprep.prepare(string, allowUnassigned: true).unicodeScalars.count == 2)
    }

    @Test func emptyStringPreparesToEmpty() throws {
        #expect(try SASLprep.prepare("") == "")
    }

    /// The error names the code point and the rule, and nothing else of the string.
    @Test func errorDescriptionNamesTheCodePointAndRuleButNotTheString() {
        let secret = "hunter2-very-secret\u{0007}"
        do {
            _ = try SASLprep.prepare(secret)
            Issue.record("expected a refusal")
        } catch {
            #expect(error.description == "SASLprep refused U+0007: an ASCII control character (RFC 3454 table C.2.1)")
            #expect(!error.description.contains("hunter2"))
        }
        #expect(SASLprepError(rule: .mixedDirections, codePoint: "a").description.contains("RFC 3454 section 6 rule 2"))
        #expect(SASLprepError(rule: .tagging, codePoint: Unicode.Scalar(0xE0001)!).description.hasPrefix("SASLprep refused U+E0001"))
    }
}
