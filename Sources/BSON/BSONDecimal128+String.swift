// Conversion between decimal128 values and strings, per the BSON Decimal128 specification
// (source/bson-decimal128/decimal128.md): parsing accepts only values that fit exactly (after
// dropping trailing zeros or clamping the exponent), and formatting follows the spec's
// to-string algorithm.

extension BSONDecimal128 {
    /// Largest exponent stored (10^6111 units) and smallest (10^-6176 units).
    static let maxExponent = 6111
    static let minExponent = -6176
    static let exponentBias = 6176
    static let maxDigits = 34

    public static let positiveInfinity = BSONDecimal128(low: 0, high: 0x7800_0000_0000_0000)
    public static let negativeInfinity = BSONDecimal128(low: 0, high: 0xF800_0000_0000_0000)
    public static let nan = BSONDecimal128(low: 0, high: 0x7C00_0000_0000_0000)

    /// Whether the sign bit is set (also for -0 and negative NaN).
    public var isNegative: Bool { high >> 63 == 1 }
    public var isNaN: Bool { (high >> 58) & 0x1F == 0x1F }
    public var isInfinite: Bool { (high >> 58) & 0x1F == 0x1E }

    /// Parses a decimal string: `[+|-]` then digits with at most one `.`, then an optional
    /// exponent `e|E[+|-]digits`; or `Inf`, `Infinity`, `NaN` in any case, with a sign.
    ///
    /// - Returns: nil when the text is not such a number, or when its value cannot be held
    ///   exactly (more than 34 significant digits, or an exponent out of range), since the
    ///   spec forbids inexact rounding.
    public init?(string: String) {
        guard let parsed = Self.parse(Array(string.utf8)) else { return nil }
        self = parsed
    }

    private static func parse(_ c: [UInt8]) -> BSONDecimal128? {
        var i = 0
        var negative = false
        if i < c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            negative = c[i] == UInt8(ascii: "-")
            i += 1
        }
        let rest = String(decoding: c[i...], as: UTF8.self).lowercased()
        let sign: UInt64 = negative ? 1 << 63 : 0
        if rest == "inf" || rest == "infinity" { return BSONDecimal128(low: 0, high: positiveInfinity.high | sign) }
        if rest == "nan" { return BSONDecimal128(low: 0, high: nan.high | sign) }

        // Significand digits (leading zeros dropped), and the exponent they imply.
        var digits: [UInt8] = []
        var sawDigit = false
        var sawPoint = false
        var exponent = 0
        while i < c.count {
            let b = c[i]
            if b >= 0x30, b <= 0x39 {
                sawDigit = true
                if !(digits.isEmpty && b == 0x30) { digits.append(b - 0x30) }
                if sawPoint { exponent -= 1 }
            } else if b == UInt8(ascii: ".") {
                guard !sawPoint else { return nil }
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { return nil }
        if i < c.count {
            guard c[i] == UInt8(ascii: "e") || c[i] == UInt8(ascii: "E") else { return nil }
            i += 1
            var exponentNegative = false
            if i < c.count, c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
                exponentNegative = c[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < c.count else { return nil }
            var written = 0
            while i < c.count {
                let b = c[i]
                guard b >= 0x30, b <= 0x39 else { return nil }
                // Saturate: anything this large is clamped or overflows anyway.
                written = Swift.min(written * 10 + Int(b - 0x30), 10_000_000)
                i += 1
            }
            exponent += exponentNegative ? -written : written
        }

        if digits.isEmpty {
            // Zero: any exponent is representable after clamping.
            let clamped = Swift.max(minExponent, Swift.min(maxExponent, exponent))
            return BSONDecimal128(low: 0, high: sign | UInt64(clamped + exponentBias) << 49)
        }
        // Exact rounding only: drop trailing zeros while there are too many digits or the
        // exponent is below range.
        while digits.count > maxDigits || exponent < minExponent {
            guard digits.last == 0 else { return nil }
            digits.removeLast()
            exponent += 1
        }
        // Clamping: a large exponent can be lowered by appending zeros.
        while exponent > maxExponent {
            guard digits.count < maxDigits else { return nil }
            digits.append(0)
            exponent -= 1
        }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for d in digits {
            // (high, low) * 10 + d; 34 digits stay below 2^113.
            let lowProduct = low.multipliedFullWidth(by: 10)
            let (newLow, carry) = lowProduct.low.addingReportingOverflow(UInt64(d))
            low = newLow
            high = high &* 10 &+ lowProduct.high &+ (carry ? 1 : 0)
        }
        return BSONDecimal128(low: low, high: sign | UInt64(exponent + exponentBias) << 49 | high)
    }
}

extension BSONDecimal128: CustomStringConvertible {
    /// The spec's string form: plain notation when the exponent is at most 0 and the adjusted
    /// exponent at least -6, scientific otherwise; `Infinity`, `-Infinity`, `NaN`.
    public var description: String {
        if isNaN { return "NaN" }
        if isInfinite { return isNegative ? "-Infinity" : "Infinity" }
        let biased: UInt64
        var sigHigh: UInt64
        var sigLow = low
        if (high >> 61) & 0b11 == 0b11 {
            // The implicit "100" prefix makes the significand exceed 34 digits: non-canonical,
            // read as zero.
            biased = (high >> 47) & 0x3FFF
            sigHigh = 0
            sigLow = 0
        } else {
            biased = (high >> 49) & 0x3FFF
            sigHigh = high & 0x1_FFFF_FFFF_FFFF
        }
        // 10^34 - 1 = 0x1ED09BEAD87C0378D8E63FFFFFFFF; anything larger is read as zero.
        if sigHigh > 0x1_ED09_BEAD_87C0 || (sigHigh == 0x1_ED09_BEAD_87C0 && sigLow > 0x378D_8E63_FFFF_FFFF) {
            sigHigh = 0
            sigLow = 0
        }
        var digits: [UInt8] = []
        while sigHigh != 0 || sigLow != 0 {
            let (qHigh, rHigh) = sigHigh.quotientAndRemainder(dividingBy: 10)
            let (qLow, r) = (10 as UInt64).dividingFullWidth((rHigh, sigLow))
            sigHigh = qHigh
            sigLow = qLow
            digits.append(UInt8(r) + 0x30)
        }
        if digits.isEmpty { digits = [0x30] }
        digits.reverse()
        let exponent = Int(biased) - Self.exponentBias
        let adjusted = exponent + digits.count - 1
        var out: [UInt8] = isNegative ? [UInt8(ascii: "-")] : []
        if exponent <= 0, adjusted >= -6 {
            if exponent == 0 {
                out += digits
            } else if digits.count > -exponent {
                let point = digits.count + exponent
                out += digits[..<point]
                out.append(UInt8(ascii: "."))
                out += digits[point...]
            } else {
                out += Array("0.".utf8)
                out += [UInt8](repeating: 0x30, count: -exponent - digits.count)
                out += digits
            }
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out += Array((adjusted >= 0 ? "E+" : "E-").utf8)
            out += Array(String(abs(adjusted)).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
