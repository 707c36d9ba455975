/// Why SASLprep refused a string: the rule and the one code point that broke it.
///
/// Why only one code point: the string is usually a password, and an error travels into logs and
/// exception messages. The offending character is what the user needs to fix it; the rest of the
/// string is never held here.
public struct SASLprepError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The RFC rule a string broke, named by its table or section.
    public enum Rule: String, Sendable, Equatable, CaseIterable {
        case nonASCIISpace = "C.1.2"
        case asciiControl = "C.2.1"
        case nonASCIIControl = "C.2.2"
        case privateUse = "C.3"
        case nonCharacter = "C.4"
        case surrogate = "C.5"
        case inappropriateForPlainText = "C.6"
        case inappropriateForCanonicalRepresentation = "C.7"
        case changesDisplayProperties = "C.8"
        case tagging = "C.9"
        /// A code point unassigned in Unicode 3.2 (stored strings refuse them, RFC 3454 section 7).
        case unassigned = "A.1"
        /// A right-to-left character (D.1) and a left-to-right one (D.2) in one string
        /// (RFC 3454 section 6, rule 2); the code point is the first left-to-right one.
        case mixedDirections = "section 6 rule 2"
        /// A string with a right-to-left character that does not begin and end with one
        /// (RFC 3454 section 6, rule 3); the code point is the first or last character.
        case rightToLeftNotAtBothEnds = "section 6 rule 3"

        /// What the rule forbids, in words.
        public var summary: String {
            switch self {
            case .nonASCIISpace: "a non-ASCII space character"
            case .asciiControl: "an ASCII control character"
            case .nonASCIIControl: "a non-ASCII control character"
            case .privateUse: "a private-use character"
            case .nonCharacter: "a non-character code point"
            case .surrogate: "a surrogate code point"
            case .inappropriateForPlainText: "a character inappropriate for plain text"
            case .inappropriateForCanonicalRepresentation: "a character inappropriate for canonical representation"
            case .changesDisplayProperties: "a character that changes display properties or is deprecated"
            case .tagging: "a tagging character"
            case .unassigned: "a code point unassigned in Unicode 3.2"
            case .mixedDirections: "a left-to-right character in a string with right-to-left characters"
            case .rightToLeftNotAtBothEnds: "a string with right-to-left characters must begin and end with one"
            }
        }
    }

    public var rule: Rule
    /// The offending code point (in the string after mapping and normalization, except for
    /// `unassigned`, which is checked on the string as given).
    public var codePoint: Unicode.Scalar

    public init(rule: Rule, codePoint: Unicode.Scalar) {
        self.rule = rule
        self.codePoint = codePoint
    }

    public var description: String {
        let section = rule.rawValue.hasPrefix("section") ? "RFC 3454 \(rule.rawValue)" : "RFC 3454 table \(rule.rawValue)"
        return "SASLprep refused U+\(Self.hex(codePoint.value)): \(rule.summary) (\(section))"
    }

    /// Four to six upper-case hexadecimal digits, as code points are written.
    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
