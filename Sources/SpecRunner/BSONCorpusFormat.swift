import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The bson-corpus format (source/bson-corpus/bson-corpus.md): one file per BSON type, with a
/// `bson_type` key and arrays `valid`, `decodeErrors` and `parseErrors`, each entry one case.
///
/// `valid` cases run every assertion the spec lists for a codec with a native representation
/// (cB, cEJ, dB, dEJ, rEJ round trips; cEJ/dEJ to BSON unless `lossy`), plus the direct ones
/// for dB to Extended JSON, the lazy view against the tree decoder, and `converted_bson` /
/// `converted_extjson` through `replacingDeprecatedTypes()`. Extended JSON is compared after
/// parsing both sides as JSON: whitespace and escapes differ legally, member order and number
/// lexemes do not.
public struct BSONCorpusFormat: SpecFormat {
    public init() {}

    public var name: String { "bson-corpus" }

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["bson_type"] != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let bsonType = file.json["bson_type"]?.stringValue ?? ""
        var results: [SpecCaseResult] = []
        func add(_ group: String, _ cases: [JSONValue], _ check: (JSONValue) throws(Mismatch) -> Void) {
            for (i, testCase) in cases.enumerated() {
                let name = group + ": " + (testCase["description"]?.stringValue ?? "#\(i)")
                let outcome: SpecOutcome
                do {
                    try check(testCase)
                    outcome = .passed
                } catch {
                    outcome = .failed(error.message)
                }
                results.append(SpecCaseResult(file: file.path, name: name, outcome: outcome))
            }
        }
        add("valid", file.json["valid"]?.arrayValue ?? [], checkValid)
        add("decodeErrors", file.json["decodeErrors"]?.arrayValue ?? [], checkDecodeError)
        add("parseErrors", file.json["parseErrors"]?.arrayValue ?? []) { (testCase) throws(Mismatch) in
            try checkParseError(testCase, bsonType: bsonType)
        }
        if results.isEmpty {
            results.append(SpecCaseResult(file: file.path, name: "(file)", outcome: .failed("no cases in file")))
        }
        return results
    }

    /// A failed assertion.
    struct Mismatch: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    // MARK: - Case kinds

    private func checkValid(_ c: JSONValue) throws(Mismatch) {
        let cB = try hexField(c, "canonical_bson")
        let cEJ = try stringField(c, "canonical_extjson")
        let rEJ = c["relaxed_extjson"]?.stringValue
        let lossy = c["lossy"]?.boolValue == true

        // cB: native_to_bson, native_to_canonical/relaxed_extended_json of bson_to_native.
        let native = try decode(cB, "canonical_bson")
        try expectBytes(native.encoded(), cB, "native_to_bson(bson_to_native(cB))")
        try expectJSON(native.canonicalExtendedJSON(), cEJ, "native_to_canonical_extended_json(bson_to_native(cB))")
        if let rEJ {
            try expectJSON(native.relaxedExtendedJSON(), rEJ, "native_to_relaxed_extended_json(bson_to_native(cB))")
        }
        try expectViewMatches(cB, native)

        // cEJ: back to itself, and to cB unless lossy.
        let fromCanonical = try parse(cEJ, "canonical_extjson")
        try expectJSON(fromCanonical.canonicalExtendedJSON(), cEJ, "native_to_canonical_extended_json(json_to_native(cEJ))")
        if !lossy {
            try expectBytes(fromCanonical.encoded(), cB, "native_to_bson(json_to_native(cEJ))")
        }

        // dB: to cB, and (as a direct codec would) to cEJ and rEJ.
        if c["degenerate_bson"] != nil {
            let dB = try hexField(c, "degenerate_bson")
            let fromDegenerate = try decode(dB, "degenerate_bson")
            try expectBytes(fromDegenerate.encoded(), cB, "native_to_bson(bson_to_native(dB))")
            try expectJSON(fromDegenerate.canonicalExtendedJSON(), cEJ, "bson_to_canonical_extended_json(dB)")
            if let rEJ {
                try expectJSON(fromDegenerate.relaxedExtendedJSON(), rEJ, "bson_to_relaxed_extended_json(dB)")
            }
            try expectViewMatches(dB, fromDegenerate)
        }

        // dEJ: to cEJ, and to cB unless lossy.
        if let dEJ = c["degenerate_extjson"]?.stringValue {
            let fromDegenerate = try parse(dEJ, "degenerate_extjson")
            try expectJSON(fromDegenerate.canonicalExtendedJSON(), cEJ, "native_to_canonical_extended_json(json_to_native(dEJ))")
            if !lossy {
                try expectBytes(fromDegenerate.encoded(), cB, "native_to_bson(json_to_native(dEJ))")
            }
        }

        // rEJ: back to itself.
        if let rEJ {
            let fromRelaxed = try parse(rEJ, "relaxed_extjson")
            try expectJSON(fromRelaxed.relaxedExtendedJSON(), rEJ, "native_to_relaxed_extended_json(json_to_native(rEJ))")
        }

        // Deprecated types: the conversion to modern types the corpus shows.
        if c["converted_bson"] != nil {
            let converted = native.replacingDeprecatedTypes()
            try expectBytes(converted.encoded(), try hexField(c, "converted_bson"), "converted_bson")
            if let convertedEJ = c["converted_extjson"]?.stringValue {
                try expectJSON(converted.canonicalExtendedJSON(), convertedEJ, "converted_extjson")
            }
        }
    }

    private func checkDecodeError(_ c: JSONValue) throws(Mismatch) {
        let bytes = try hexField(c, "bson")
        if let document = try? BSONDocument(bytes: bytes) {
            throw Mismatch("decoding succeeded, expected an error; got \(document.canonicalExtendedJSON())")
        }
        if (try? BSONDocumentView(bytes: bytes)) != nil {
            throw Mismatch("BSONDocumentView accepted the bytes, expected an error")
        }
    }

    private func checkParseError(_ c: JSONValue, bsonType: String) throws(Mismatch) {
        let text = try stringField(c, "string")
        if bsonType.lowercased() == "0x13" {
            if let d = BSONDecimal128(string: text) {
                throw Mismatch("decimal128 '\(text)' parsed as \(d), expected an error")
            }
            return
        }
        // Top-level documents, binary and any other type: an Extended JSON error that plain
        // JSON does not share.
        do {
            _ = try JSONParser.parse(text)
        } catch {
            throw Mismatch("the input is not even valid JSON (\(error)), so it tests nothing Extended JSON specific")
        }
        if let document = try? ExtendedJSON.document(from: text) {
            throw Mismatch("Extended JSON parsing succeeded, expected an error; got \(document.canonicalExtendedJSON())")
        }
    }

    // MARK: - Helpers

    private func stringField(_ c: JSONValue, _ key: String) throws(Mismatch) -> String {
        guard let s = c[key]?.stringValue else { throw Mismatch("case has no string '\(key)'") }
        return s
    }

    /// Hex digits of either case (the spec says to mangle case in round trips).
    private func hexField(_ c: JSONValue, _ key: String) throws(Mismatch) -> [UInt8] {
        let text = Array(try stringField(c, key).utf8)
        guard text.count % 2 == 0 else { throw Mismatch("'\(key)' has an odd number of hex digits") }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var i = 0
        while i < text.count {
            guard let high = Self.hexValue(text[i]), let low = Self.hexValue(text[i + 1]) else {
                throw Mismatch("'\(key)' is not hexadecimal")
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 0x30...0x39: b - 0x30
        case 0x41...0x46: b - 0x41 + 10
        case 0x61...0x66: b - 0x61 + 10
        default: nil
        }
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func decode(_ bytes: [UInt8], _ what: String) throws(Mismatch) -> BSONDocument {
        do {
            return try BSONDocument(bytes: bytes)
        } catch {
            throw Mismatch("\(what) did not decode: \(error)")
        }
    }

    private func parse(_ text: String, _ what: String) throws(Mismatch) -> BSONDocument {
        do {
            return try ExtendedJSON.document(from: text)
        } catch {
            throw Mismatch("\(what) did not parse: \(error)")
        }
    }

    private func expectBytes(_ got: [UInt8], _ expected: [UInt8], _ assertion: String) throws(Mismatch) {
        guard got == expected else {
            throw Mismatch("\(assertion): expected \(Self.hex(expected)), got \(Self.hex(got))")
        }
    }

    /// Compares two Extended JSON texts as parsed JSON values (member order and number
    /// lexemes count; whitespace and escaping do not).
    private func expectJSON(_ got: String, _ expected: String, _ assertion: String) throws(Mismatch) {
        guard let expectedJSON = try? JSONParser.parse(expected) else {
            throw Mismatch("\(assertion): the expected text is not JSON: \(expected)")
        }
        guard let gotJSON = try? JSONParser.parse(got) else {
            throw Mismatch("\(assertion): our output is not JSON: \(got)")
        }
        guard gotJSON == expectedJSON else {
            throw Mismatch("\(assertion): expected \(JSONWriter.write(expectedJSON)), got \(got)")
        }
    }

    /// The lazy view must accept what the tree decoder accepts, and read the same values.
    private func expectViewMatches(_ bytes: [UInt8], _ native: BSONDocument) throws(Mismatch) {
        let view: BSONDocumentView
        do {
            view = try BSONDocumentView(bytes: bytes)
        } catch {
            throw Mismatch("BSONDocumentView rejected bytes the decoder accepts: \(error)")
        }
        guard view.document() == native else { throw Mismatch("BSONDocumentView read a different document") }
        for (key, value) in native.elements where view[key] != native[key] {
            throw Mismatch("BSONDocumentView[\"\(key)\"] differs: \(String(describing: view[key])) vs \(value)")
        }
    }
}
