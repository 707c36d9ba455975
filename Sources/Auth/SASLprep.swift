/// SASLprep (RFC 4013), the stringprep (RFC 3454) profile SCRAM-SHA-256 applies to passwords, so
/// that one password typed in different but equivalent ways ("I\u{AD}X", "IX", "\u{2168}")
/// derives the same key on the client and in the server's stored credential.
///
/// The steps, in the RFC's order:
/// 1. map: B.1 ("commonly mapped to nothing", e.g. the soft hyphen) is removed, and C.1.2
///    (non-ASCII spaces) becomes U+0020;
/// 2. normalize with Unicode NFKC;
/// 3. prohibit C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8 and C.9 in the result;
/// 4. check bidirectional text (RFC 3454 section 6): a string with a right-to-left character
///    (D.1) has no left-to-right one (D.2), and begins and ends with a right-to-left one;
/// 5. refuse code points unassigned in Unicode 3.2 (A.1), unless the caller asks for the
///    "query" profile: a stored password is a stored string (RFC 3454 section 7).
///
/// NFKC is Unicode 3.2's (`NFKC`, `NFKCTables`), as the RFC specifies and as ICU's SASLprep
/// profile (the server's) and PyMongo apply it: later Unicode would also differ for five CJK
/// compatibility ideographs that Corrigendum #4 changed.
public enum SASLprep {
    /// The prepared form of `string`.
    ///
    /// - Parameter allowUnassigned: true for stringprep's "query" profile (unassigned code points
    ///   pass through); false, the default, for "stored strings", which SCRAM passwords are.
    /// - Throws: `SASLprepError` naming the first offending code point and the rule it broke.
    public static func prepare(_ string: String, allowUnassigned: Bool = false) throws(SASLprepError) -> String {
        var mapped = String.UnicodeScalarView()
        for scalar in string.unicodeScalars {
            if !allowUnassigned, StringprepTables.a1.contains(scalar) {
                throw SASLprepError(rule: .unassigned, codePoint: scalar)
            }
            if StringprepTables.b1.contains(scalar) { continue }
            mapped.append(StringprepTables.c12.contains(scalar) ? " " : scalar)
        }
        // ASCII is its own NFKC form: the common password never touches the tables.
        let scalars = mapped.allSatisfy(\.isASCII) ? Array(mapped) : NFKC.normalize(mapped)
        var normalized = String.UnicodeScalarView()
        normalized.append(contentsOf: scalars)
        for scalar in scalars {
            if let rule = prohibitedRule(scalar) { throw SASLprepError(rule: rule, codePoint: scalar) }
        }
        try checkBidirectional(scalars)
        return String(normalized)
    }

    /// The prohibition tables SASLprep applies to its output (RFC 4013 section 2.3), in order.
    private static let prohibitions: [(CodePointTable, SASLprepError.Rule)] = [
        (StringprepTables.c12, .nonASCIISpace),
        (StringprepTables.c21, .asciiControl),
        (StringprepTables.c22, .nonASCIIControl),
        (StringprepTables.c3, .privateUse),
        (StringprepTables.c4, .nonCharacter),
        (StringprepTables.c5, .surrogate),
        (StringprepTables.c6, .inappropriateForPlainText),
        (StringprepTables.c7, .inappropriateForCanonicalRepresentation),
        (StringprepTables.c8, .changesDisplayProperties),
        (StringprepTables.c9, .tagging),
    ]

    private static func prohibitedRule(_ scalar: Unicode.Scalar) -> SASLprepError.Rule? {
        prohibitions.first { $0.0.contains(scalar) }?.1
    }

    /// RFC 3454 section 6, rules 2 and 3 (rule 1, C.8, is among the prohibitions).
    private static func checkBidirectional(_ scalars: [Unicode.Scalar]) throws(SASLprepError) {
        guard scalars.contains(where: StringprepTables.d1.contains) else { return }
        if let leftToRight = scalars.first(where: StringprepTables.d2.contains) {
            throw SASLprepError(rule: .mixedDirections, codePoint: leftToRight)
        }
        for end in [scalars[0], scalars[scalars.count - 1]] where !StringprepTables.d1.contains(end) {
            throw SASLprepError(rule: .rightToLeftNotAtBothEnds, codePoint: end)
        }
    }
}
