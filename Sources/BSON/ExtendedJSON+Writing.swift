// Extended JSON v2 generation (source/extended-json/extended-json.md, "Generators"): canonical
// form preserves every type; relaxed form writes numbers and recent dates as plain JSON.

extension BSONDocument {
    /// Canonical Extended JSON: every value in its type wrapper, so parsing it gives back
    /// exactly this document (NaN payloads aside).
    public func canonicalExtendedJSON() -> String {
        BSON.document(self).canonicalExtendedJSON()
    }

    /// Relaxed Extended JSON: int32, int64 and finite doubles as JSON numbers, dates from
    /// 1970 to 9999 as ISO-8601 strings; other types as in canonical form.
    public func relaxedExtendedJSON() -> String {
        BSON.document(self).relaxedExtendedJSON()
    }
}

extension BSON {
    /// This value alone in Canonical Extended JSON.
    public func canonicalExtendedJSON() -> String {
        var out = ""
        ExtendedJSONWriter(relaxed: false).write(self, into: &out)
        return out
    }

    /// This value alone in Relaxed Extended JSON.
    public func relaxedExtendedJSON() -> String {
        var out = ""
        ExtendedJSONWriter(relaxed: true).write(self, into: &out)
        return out
    }
}

/// Writes compact Extended JSON (no whitespace), keys in document order.
struct ExtendedJSONWriter {
    var relaxed: Bool

    /// The last millisecond of 9999-12-31, the end of the range relaxed dates write as ISO-8601.
    static let lastISODate: Int64 = 253_402_300_799_999

    func write(_ document: BSONDocument, into out: inout String) {
        out += "{"
        for (i, element) in document.elements.enumerated() {
            if i > 0 { out += "," }
            JSONWriter.writeString(element.key, into: &out)
            out += ":"
            write(element.value, into: &out)
        }
        out += "}"
    }

    /// `{"$key":` value `}` around whatever `body` writes.
    private func wrapper(_ key: String, into out: inout String, _ body: (inout String) -> Void) {
        out += "{\"" + key + "\":"
        body(&out)
        out += "}"
    }

    private func wrapString(_ key: String, _ value: String, into out: inout String) {
        wrapper(key, into: &out) { JSONWriter.writeString(value, into: &$0) }
    }

    func write(_ value: BSON, into out: inout String) {
        switch value {
        case .double(let d):
            if relaxed, d.isFinite {
                out += Self.doubleString(d)
            } else {
                wrapString("$numberDouble", Self.doubleString(d), into: &out)
            }
        case .string(let s): JSONWriter.writeString(s, into: &out)
        case .document(let d): write(d, into: &out)
        case .array(let values):
            out += "["
            for (i, v) in values.enumerated() {
                if i > 0 { out += "," }
                write(v, into: &out)
            }
            out += "]"
        case .binary(let b):
            wrapper("$binary", into: &out) { out in
                out += "{\"base64\":"
                JSONWriter.writeString(Base64.encode(b.data), into: &out)
                out += ",\"subType\":\"" + hexString([b.subtype]) + "\"}"
            }
        case .undefined: out += "{\"$undefined\":true}"
        case .objectID(let id): wrapString("$oid", id.hex, into: &out)
        case .bool(let b): out += b ? "true" : "false"
        case .datetime(let ms):
            if relaxed, ms >= 0, ms <= Self.lastISODate {
                wrapString("$date", ISO8601Milliseconds.format(ms), into: &out)
            } else {
                wrapper("$date", into: &out) { wrapString("$numberLong", String(ms), into: &$0) }
            }
        case .null: out += "null"
        case .regex(let r):
            wrapper("$regularExpression", into: &out) { out in
                out += "{\"pattern\":"
                JSONWriter.writeString(r.pattern, into: &out)
                out += ",\"options\":"
                JSONWriter.writeString(BSONRegularExpression.sortedOptions(r.options), into: &out)
                out += "}"
            }
        case .dbPointer(let p):
            wrapper("$dbPointer", into: &out) { out in
                out += "{\"$ref\":"
                JSONWriter.writeString(p.ref, into: &out)
                out += ",\"$id\":"
                wrapString("$oid", p.id.hex, into: &out)
                out += "}"
            }
        case .javascript(let code): wrapString("$code", code, into: &out)
        case .symbol(let s): wrapString("$symbol", s, into: &out)
        case .javascriptWithScope(let c):
            out += "{\"$code\":"
            JSONWriter.writeString(c.code, into: &out)
            out += ",\"$scope\":"
            write(c.scope, into: &out)
            out += "}"
        case .int32(let v):
            if relaxed { out += String(v) } else { wrapString("$numberInt", String(v), into: &out) }
        case .timestamp(let t):
            out += "{\"$timestamp\":{\"t\":\(t.timestamp),\"i\":\(t.increment)}}"
        case .int64(let v):
            if relaxed { out += String(v) } else { wrapString("$numberLong", String(v), into: &out) }
        case .decimal128(let d): wrapString("$numberDecimal", d.description, into: &out)
        case .minKey: out += "{\"$minKey\":1}"
        case .maxKey: out += "{\"$maxKey\":1}"
        }
    }

    /// The shortest text that reads back as `d`, with an uppercase exponent and a `.0` on
    /// integral values (`1.0`, `-0.0`, `1.2345678921232E+18`), or `Infinity`, `-Infinity`, `NaN`.
    static func doubleString(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        let text = d.description
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else {
            return text.contains(".") ? text : text + ".0"
        }
        var exponent = text[text.index(after: e)...]
        var sign = "+"
        if let first = exponent.first, first == "+" || first == "-" {
            sign = String(first)
            exponent = exponent.dropFirst()
        }
        let digits = exponent.drop(while: { $0 == "0" })
        return text[..<e] + "E" + sign + (digits.isEmpty ? "0" : String(digits))
    }
}
