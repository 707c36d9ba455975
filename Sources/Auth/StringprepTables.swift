/// A set of Unicode code points held as sorted, disjoint, inclusive ranges, the way RFC 3454's
/// appendices list them; membership is a binary search.
///
/// Why ranges of plain integers rather than `Set<Unicode.Scalar>` or `[ClosedRange]` literals:
/// the tables are the RFC's data, so they should read like the RFC; a flat `[UInt32]` literal
/// type-checks instantly even at 400 ranges; and a lookup touches about ten entries.
struct CodePointTable: Sendable {
    /// Lower bounds and upper bounds, interleaved: `[low0, high0, low1, high1, ...]`.
    private let bounds: [UInt32]

    /// - Parameter bounds: pairs of inclusive bounds, sorted and disjoint.
    init(_ bounds: [UInt32]) {
        precondition(bounds.count % 2 == 0, "a code point table needs pairs of bounds")
        self.bounds = bounds
    }

    func contains(_ scalar: Unicode.Scalar) -> Bool { contains(scalar.value) }

    func contains(_ value: UInt32) -> Bool {
        var low = 0
        var high = bounds.count / 2 - 1
        while low <= high {
            let middle = (low + high) / 2
            if value < bounds[2 * middle] {
                high = middle - 1
            } else if value > bounds[2 * middle + 1] {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}

/// The stringprep (RFC 3454) tables the SASLprep profile (RFC 4013) uses, as the RFC lists them.
/// The short ones are written here by hand; A.1, D.1 and D.2, which the RFC derived from the
/// Unicode 3.2 database, are generated into `StringprepTables+Unicode32.swift` by
/// `scripts/stringprep-tables.py`.
enum StringprepTables {
    /// B.1: "commonly mapped to nothing" (soft hyphen, zero-width joiners, variation selectors, BOM).
    static let b1 = CodePointTable([
        0x00AD, 0x00AD, 0x034F, 0x034F, 0x1806, 0x1806, 0x180B, 0x180D,
        0x200B, 0x200D, 0x2060, 0x2060, 0xFE00, 0xFE0F, 0xFEFF, 0xFEFF,
    ])

    /// C.1.2: non-ASCII space characters (SASLprep maps them to U+0020, then prohibits them).
    static let c12 = CodePointTable([
        0x00A0, 0x00A0, 0x1680, 0x1680, 0x2000, 0x200B, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000,
    ])

    /// C.2.1: ASCII control characters.
    static let c21 = CodePointTable([0x0000, 0x001F, 0x007F, 0x007F])

    /// C.2.2: non-ASCII control characters.
    static let c22 = CodePointTable([
        0x0080, 0x009F, 0x06DD, 0x06DD, 0x070F, 0x070F, 0x180E, 0x180E, 0x200C, 0x200D,
        0x2028, 0x2029, 0x2060, 0x2063, 0x206A, 0x206F, 0xFEFF, 0xFEFF, 0xFFF9, 0xFFFC,
        0x1D173, 0x1D17A,
    ])

    /// C.3: private use.
    static let c3 = CodePointTable([0xE000, 0xF8FF, 0xF0000, 0xFFFFD, 0x100000, 0x10FFFD])

    /// C.4: non-character code points (U+FDD0...U+FDEF and the last two of every plane).
    static let c4 = CodePointTable([
        0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF, 0x1FFFE, 0x1FFFF, 0x2FFFE, 0x2FFFF, 0x3FFFE, 0x3FFFF,
        0x4FFFE, 0x4FFFF, 0x5FFFE, 0x5FFFF, 0x6FFFE, 0x6FFFF, 0x7FFFE, 0x7FFFF, 0x8FFFE, 0x8FFFF,
        0x9FFFE, 0x9FFFF, 0xAFFFE, 0xAFFFF, 0xBFFFE, 0xBFFFF, 0xCFFFE, 0xCFFFF, 0xDFFFE, 0xDFFFF,
        0xEFFFE, 0xEFFFF, 0xFFFFE, 0xFFFFF, 0x10FFFE, 0x10FFFF,
    ])

    /// C.5: surrogate code points. A Swift `String` cannot hold one (its scalars are valid), so
    /// this table can never match; it is kept so the profile reads as the RFC does.
    static let c5 = CodePointTable([0xD800, 0xDFFF])

    /// C.6: inappropriate for plain text (interlinear annotation, object replacement, U+FFFD).
    static let c6 = CodePointTable([0xFFF9, 0xFFFD])

    /// C.7: inappropriate for canonical representation (ideographic description characters).
    static let c7 = CodePointTable([0x2FF0, 0x2FFB])

    /// C.8: change display properties or deprecated (directional marks and overrides).
    static let c8 = CodePointTable([0x0340, 0x0341, 0x200E, 0x200F, 0x202A, 0x202E, 0x206A, 0x206F])

    /// C.9: tagging characters.
    static let c9 = CodePointTable([0xE0001, 0xE0001, 0xE0020, 0xE007F])
}
