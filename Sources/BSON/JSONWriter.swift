/// Serialises a `JSONValue` compactly, the way the Extended JSON spec writes it
/// (`{"a" : 1}` style is not used: members are separated by `", "` and keys by `" : "`
/// only when `spaced` is set, matching the bson-corpus expected strings).
public enum JSONWriter {
    public static func write(_ value: JSONValue, spaced: Bool = false) -> String {
        var out = ""
        write(value, into: &out, spaced: spaced)
        return out
    }

    public static func write(_ value: JSONValue, into out: inout String, spaced: Bool) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): writeString(s, into: &out)
        case .array(let elements):
            out += "["
            for (i, e) in elements.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                write(e, into: &out, spaced: spaced)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out += spaced ? ", " : "," }
                writeString(k, into: &out)
                out += spaced ? " : " : ":"
                write(v, into: &out, spaced: spaced)
            }
            out += "}"
        }
    }

    /// Writes a JSON string literal with the escapes RFC 8259 requires.
    ///
    /// A string with nothing to escape (the common case: addresses, names, type names) is
    /// appended whole; appending scalar by scalar made string output the largest cost of
    /// `sdam watch --json`.
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16, uppercase: false)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
