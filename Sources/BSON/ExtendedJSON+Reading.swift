/// Why an Extended JSON text could not be read as BSON.
public struct ExtendedJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "invalid Extended JSON: \(reason)" }
}

/// Reads MongoDB Extended JSON v2, canonical and relaxed, into BSON; also the legacy
/// `$binary`/`$type` and `$regex`/`$options` forms, and `$uuid`. A `$date` holding a bare
/// number is rejected, as the bson-corpus requires.
///
/// Keys and regular expression parts become C strings in BSON, so a NUL in one is an error.
public enum ExtendedJSON {
    /// Parses a JSON text whose top level is an object into a document.
    ///
    /// The top-level object is always a document, never a type wrapper: the spec applies the
    /// wrapper rules only to objects other than the top-level one, so `{"$oid": 1, "a": 2}`
    /// is a document with the key `$oid`, as BSON allows.
    public static func document(from text: String) throws -> BSONDocument {
        guard case .object(let members) = try JSONParser.parse(text) else {
            throw ExtendedJSONError("top level is not a document")
        }
        return try document(members)
    }

    /// Converts one parsed JSON value to BSON, interpreting type wrappers.
    public static func value(from json: JSONValue) throws(ExtendedJSONError) -> BSON {
        switch json {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .string(let s): return .string(s)
        case .number(let n): return try number(n)
        case .array(let elements):
            var out: [BSON] = []
            out.reserveCapacity(elements.count)
            for e in elements { out.append(try value(from: e)) }
            return .array(out)
        case .object(let members):
            if let wrapped = try typeWrapper(members) { return wrapped }
            return .document(try document(members))
        }
    }

    /// An object's members as a document, each value converted (nested wrappers interpreted).
    private static func document(_ members: [(String, JSONValue)]) throws(ExtendedJSONError) -> BSONDocument {
        var doc = BSONDocument()
        for (k, v) in members {
            guard !k.utf8.contains(0) else { throw ExtendedJSONError("key '\(k)' contains a NUL byte") }
            doc.append(k, try value(from: v))
        }
        return doc
    }

    /// A relaxed-mode number: an integer that fits int32 becomes int32, else int64, else double.
    static func number(_ lexeme: String) throws(ExtendedJSONError) -> BSON {
        let isInteger = !lexeme.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })
        if isInteger {
            if let v = Int32(lexeme) { return .int32(v) }
            if let v = Int64(lexeme) { return .int64(v) }
        }
        guard let d = Double(lexeme) else { throw ExtendedJSONError("number '\(lexeme)' is out of range") }
        return .double(d)
    }

    // MARK: - Type wrappers

    private static func typeWrapper(_ members: [(String, JSONValue)]) throws(ExtendedJSONError) -> BSON? {
        // Any `$`-prefixed key may be a type wrapper's, wherever it stands.
        guard members.contains(where: { $0.0.hasPrefix("$") }) else { return nil }
        let keys = Set(members.map(\.0))
        func member(_ key: String) -> JSONValue? { members.first(where: { $0.0 == key })?.1 }
        func only(_ expected: Set<String>, _ type: String) throws(ExtendedJSONError) {
            guard keys == expected, members.count == expected.count else {
                throw ExtendedJSONError("\(type) wrapper must have exactly the keys \(expected.sorted()), found \(members.map(\.0))")
            }
        }
        func string(_ v: JSONValue?, _ what: String) throws(ExtendedJSONError) -> String {
            guard let s = v?.stringValue else { throw ExtendedJSONError("\(what) must be a string") }
            return s
        }

        if keys.contains("$oid") {
            try only(["$oid"], "$oid")
            let hex = try string(member("$oid"), "$oid")
            guard let oid = BSONObjectID(hex: hex) else { throw ExtendedJSONError("$oid '\(hex)' is not 24 hex digits") }
            return .objectID(oid)
        }
        if keys.contains("$symbol") {
            try only(["$symbol"], "$symbol")
            return .symbol(try string(member("$symbol"), "$symbol"))
        }
        if keys.contains("$numberInt") {
            try only(["$numberInt"], "$numberInt")
            let s = try string(member("$numberInt"), "$numberInt")
            guard isPlainInteger(s), let v = Int32(s) else { throw ExtendedJSONError("$numberInt '\(s)' is not an int32") }
            return .int32(v)
        }
        if keys.contains("$numberLong") {
            try only(["$numberLong"], "$numberLong")
            let s = try string(member("$numberLong"), "$numberLong")
            guard isPlainInteger(s), let v = Int64(s) else { throw ExtendedJSONError("$numberLong '\(s)' is not an int64") }
            return .int64(v)
        }
        if keys.contains("$numberDouble") {
            try only(["$numberDouble"], "$numberDouble")
            let s = try string(member("$numberDouble"), "$numberDouble")
            return .double(try parseDouble(s))
        }
        if keys.contains("$numberDecimal") {
            try only(["$numberDecimal"], "$numberDecimal")
            let s = try string(member("$numberDecimal"), "$numberDecimal")
            guard let d = BSONDecimal128(string: s) else { throw ExtendedJSONError("$numberDecimal '\(s)' is not a decimal128") }
            return .decimal128(d)
        }
        if keys.contains("$binary") {
            return .binary(try binary(members, keys: keys))
        }
        if keys.contains("$uuid") {
            try only(["$uuid"], "$uuid")
            let s = try string(member("$uuid"), "$uuid")
            guard let bytes = uuidBytes(s) else { throw ExtendedJSONError("$uuid '\(s)' is not a UUID") }
            return .binary(BSONBinary(subtype: 4, data: bytes))
        }
        if keys.contains("$code") {
            if keys.contains("$scope") {
                try only(["$code", "$scope"], "$code/$scope")
                let code = try string(member("$code"), "$code")
                guard let scopeJSON = member("$scope"), case .object = scopeJSON,
                      case .document(let scope) = try value(from: scopeJSON) else {
                    throw ExtendedJSONError("$scope must be a document")
                }
                return .javascriptWithScope(BSONCodeWithScope(code: code, scope: scope))
            }
            try only(["$code"], "$code")
            return .javascript(try string(member("$code"), "$code"))
        }
        if keys.contains("$timestamp") {
            try only(["$timestamp"], "$timestamp")
            guard case .object(let inner)? = member("$timestamp"), inner.count == 2,
                  let t = inner.first(where: { $0.0 == "t" })?.1.int64Value,
                  let i = inner.first(where: { $0.0 == "i" })?.1.int64Value,
                  let t32 = UInt32(exactly: t), let i32 = UInt32(exactly: i)
            else { throw ExtendedJSONError("$timestamp must be {\"t\": uint32, \"i\": uint32}") }
            return .timestamp(BSONTimestamp(timestamp: t32, increment: i32))
        }
        if keys.contains("$regularExpression") {
            try only(["$regularExpression"], "$regularExpression")
            guard case .object(let inner)? = member("$regularExpression"), inner.count == 2,
                  let pattern = inner.first(where: { $0.0 == "pattern" })?.1.stringValue,
                  let options = inner.first(where: { $0.0 == "options" })?.1.stringValue
            else { throw ExtendedJSONError("$regularExpression must be {\"pattern\": string, \"options\": string}") }
            return .regex(try regex(pattern: pattern, options: options))
        }
        if keys.contains("$regex") {
            // Legacy form. A `$regex` whose value is not a string is the query operator, i.e. an
            // ordinary document.
            guard let pattern = member("$regex")?.stringValue else { return nil }
            try only(["$regex", "$options"], "$regex/$options")
            let options = try string(member("$options"), "$options")
            return .regex(try regex(pattern: pattern, options: options))
        }
        if keys.contains("$dbPointer") {
            try only(["$dbPointer"], "$dbPointer")
            guard case .object(let inner)? = member("$dbPointer"), inner.count == 2,
                  let ref = inner.first(where: { $0.0 == "$ref" })?.1.stringValue,
                  let idJSON = inner.first(where: { $0.0 == "$id" })?.1,
                  case .objectID(let id) = try value(from: idJSON)
            else { throw ExtendedJSONError("$dbPointer must be {\"$ref\": string, \"$id\": {\"$oid\": ...}}") }
            return .dbPointer(BSONDBPointer(ref: ref, id: id))
        }
        if keys.contains("$date") {
            try only(["$date"], "$date")
            guard let payload = member("$date") else { throw ExtendedJSONError("$date needs a value") }
            return .datetime(try date(payload))
        }
        if keys.contains("$minKey") {
            try only(["$minKey"], "$minKey")
            guard member("$minKey") == .number("1") else { throw ExtendedJSONError("$minKey must be 1") }
            return .minKey
        }
        if keys.contains("$maxKey") {
            try only(["$maxKey"], "$maxKey")
            guard member("$maxKey") == .number("1") else { throw ExtendedJSONError("$maxKey must be 1") }
            return .maxKey
        }
        if keys.contains("$undefined") {
            try only(["$undefined"], "$undefined")
            guard member("$undefined") == .bool(true) else { throw ExtendedJSONError("$undefined must be true") }
            return .undefined
        }
        return nil
    }

    private static func isPlainInteger(_ s: String) -> Bool {
        let body = s.hasPrefix("-") ? s.dropFirst() : Substring(s)
        return !body.isEmpty && body.allSatisfy { $0.isASCII && $0.isNumber }
    }

    static func parseDouble(_ s: String) throws(ExtendedJSONError) -> Double {
        switch s {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default:
            // Only JSON-number syntax is allowed (no "inf", "0x1p3", leading '+').
            guard case .number? = try? JSONParser.parse(s), let d = Double(s) else {
                throw ExtendedJSONError("$numberDouble '\(s)' is not a number")
            }
            return d
        }
    }

    /// A regular expression with its options in canonical (sorted) order; NUL cannot be
    /// written in BSON's C strings.
    private static func regex(pattern: String, options: String) throws(ExtendedJSONError) -> BSONRegularExpression {
        guard !pattern.utf8.contains(0) else { throw ExtendedJSONError("regular expression pattern contains a NUL byte") }
        guard !options.utf8.contains(0) else { throw ExtendedJSONError("regular expression options contain a NUL byte") }
        return BSONRegularExpression(pattern: pattern, options: BSONRegularExpression.sortedOptions(options))
    }

    private static func binary(_ members: [(String, JSONValue)], keys: Set<String>) throws(ExtendedJSONError) -> BSONBinary {
        guard let payload = members.first(where: { $0.0 == "$binary" })?.1 else {
            throw ExtendedJSONError("$binary wrapper needs a $binary member")
        }
        let base64: String
        let subtypeHex: String
        if case .object(let inner) = payload {
            guard keys == ["$binary"], members.count == 1 else {
                throw ExtendedJSONError("$binary wrapper must have exactly the key $binary")
            }
            guard inner.count == 2,
                  let b = inner.first(where: { $0.0 == "base64" })?.1.stringValue,
                  let t = inner.first(where: { $0.0 == "subType" })?.1.stringValue
            else { throw ExtendedJSONError("$binary must be {\"base64\": string, \"subType\": hex string}") }
            base64 = b
            subtypeHex = t
        } else {
            guard keys == ["$binary", "$type"], members.count == 2,
                  let b = payload.stringValue,
                  let t = members.first(where: { $0.0 == "$type" })?.1.stringValue
            else { throw ExtendedJSONError("legacy $binary must be {\"$binary\": string, \"$type\": hex string}") }
            base64 = b
            subtypeHex = t
        }
        let hex = Array(subtypeHex.utf8)
        guard (1...2).contains(hex.count), hex.allSatisfy({ hexDigitValue($0) != nil }) else {
            throw ExtendedJSONError("$binary subType '\(subtypeHex)' is not one or two hex digits")
        }
        let subtype = hex.reduce(UInt8(0)) { $0 << 4 | hexDigitValue($1)! }
        guard let data = Base64.decode(base64) else {
            throw ExtendedJSONError("$binary base64 '\(base64)' is not valid base64")
        }
        return BSONBinary(subtype: subtype, data: data)
    }

    /// 8-4-4-4-12 hexadecimal digits.
    private static func uuidBytes(_ s: String) -> [UInt8]? {
        let groups = s.split(separator: "-", omittingEmptySubsequences: false)
        guard groups.map(\.count) == [8, 4, 4, 4, 12] else { return nil }
        let hex = Array(groups.joined().utf8)
        var out: [UInt8] = []
        var i = 0
        while i < hex.count {
            guard let hi = hexDigitValue(hex[i]), let lo = hexDigitValue(hex[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func date(_ v: JSONValue) throws(ExtendedJSONError) -> Int64 {
        switch v {
        case .object(let inner):
            guard inner.count == 1, inner[0].0 == "$numberLong", case .int64(let ms) = try value(from: v) else {
                throw ExtendedJSONError("$date must wrap {\"$numberLong\": string}")
            }
            return ms
        case .string(let iso):
            guard let ms = ISO8601Milliseconds.parse(iso) else {
                throw ExtendedJSONError("$date '\(iso)' is not an ISO-8601 date")
            }
            return ms
        default:
            throw ExtendedJSONError("$date must be an ISO-8601 string or {\"$numberLong\": string}")
        }
    }
}

/// ISO-8601 date-times as relaxed Extended JSON writes them: `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)`.
public enum ISO8601Milliseconds {
    public static func parse(_ s: String) -> Int64? {
        let c = Array(s.utf8)
        var i = 0
        func digits(_ n: Int) -> Int? {
            guard i + n <= c.count else { return nil }
            var v = 0
            for k in 0..<n {
                let d = c[i + k]
                guard d >= 0x30, d <= 0x39 else { return nil }
                v = v * 10 + Int(d - 0x30)
            }
            i += n
            return v
        }
        func expect(_ ch: Character) -> Bool {
            guard i < c.count, c[i] == ch.asciiValue! else { return false }
            i += 1
            return true
        }
        guard let year = digits(4), expect("-"), let month = digits(2), expect("-"), let day = digits(2),
              expect("T"), let hour = digits(2), expect(":"), let minute = digits(2), expect(":"),
              let second = digits(2)
        else { return nil }
        var millis = 0
        if i < c.count, c[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 100
            var count = 0
            while i < c.count, c[i] >= 0x30, c[i] <= 0x39 {
                millis += Int(c[i] - 0x30) * scale
                scale /= 10
                count += 1
                i += 1
            }
            guard count > 0 else { return nil }
        }
        var offsetMinutes = 0
        guard i < c.count else { return nil }
        if c[i] == UInt8(ascii: "Z") {
            i += 1
        } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
            let sign = c[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
            guard let oh = digits(2) else { return nil }
            _ = expect(":")
            guard let om = digits(2) else { return nil }
            offsetMinutes = sign * (oh * 60 + om)
        } else {
            return nil
        }
        guard i == c.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
        return seconds * 1000 + Int64(millis)
    }

    /// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS[.fff]Z` (fraction omitted
    /// when zero), for years 1970 through 9999.
    public static func format(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = Int(ms - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secOfDay = Int(seconds - days * 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        func pad(_ v: Int, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(secOfDay / 3600, 2)):\(pad(secOfDay / 60 % 60, 2)):\(pad(secOfDay % 60, 2))"
        if millis != 0 { out += "." + pad(millis, 3) }
        return out + "Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (m <= 2 ? y + 1 : y, m, d)
    }
}
