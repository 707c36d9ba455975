import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Invariants of the BSON decoders, encoder and Extended JSON, checked on any input.
///
/// A `precondition` here fails only on a real bug: the two decoders disagreeing, a decoded
/// document that does not survive re-encoding, or Extended JSON output that the reader rejects
/// or reads back as a different value.
public enum BSONInvariants {
    /// Decodes `bytes` with both decoders and checks that they agree; for a valid document,
    /// checks the encode/decode and Extended JSON round trips.
    ///
    /// - Returns: the document, or nil when the bytes are not one valid BSON document.
    @discardableResult
    public static func check(_ bytes: [UInt8]) -> BSONDocument? {
        let tree: Result<BSONDocument, BSONDecodingError>
        do throws(BSONDecodingError) { tree = .success(try BSONDocument(bytes: bytes)) } catch { tree = .failure(error) }
        let view: Result<BSONDocumentView, BSONDecodingError>
        do throws(BSONDecodingError) { view = .success(try BSONDocumentView(bytes: bytes)) } catch { view = .failure(error) }

        switch (tree, view) {
        case (.failure(let a), .failure(let b)):
            precondition(a == b, "BSONDocument and BSONDocumentView report different errors: \(a) vs \(b)")
            _ = a.description
            return nil
        case (.success(let document), .success(let view)):
            checkView(view, against: document)
            checkEncoding(document)
            checkExtendedJSON(document)
            return document
        case (.success, .failure(let error)):
            preconditionFailure("BSONDocumentView rejects what BSONDocument accepts: \(error)")
        case (.failure(let error), .success):
            preconditionFailure("BSONDocument rejects what BSONDocumentView accepts: \(error)")
        }
    }

    /// The lazy view reads the same document as the tree decoder.
    static func checkView(_ view: BSONDocumentView, against document: BSONDocument) {
        precondition(view.count == document.count, "view count \(view.count) != document count \(document.count)")
        precondition(view.keys == document.keys, "view keys differ from document keys")
        precondition(view.document() == document, "view.document() differs from BSONDocument(bytes:)")
        for key in Set(document.keys) {
            precondition(view[key] == document[key], "view[\(key)] differs from document[\(key)]")
        }
    }

    /// Encoding a decoded document gives bytes that decode again, and a second encoding is
    /// byte for byte the first (the first may normalise, e.g. regex option order).
    static func checkEncoding(_ document: BSONDocument) {
        let first = document.encoded()
        let again: BSONDocument
        do throws(BSONDecodingError) { again = try BSONDocument(bytes: first) } catch {
            preconditionFailure("re-encoded document does not decode: \(error)")
        }
        let second = again.encoded()
        precondition(first == second, "encoding is not stable after one round trip")
        do throws(BSONEncodingError) { try document.validateForEncoding() } catch {
            preconditionFailure("a decoded document fails validateForEncoding: \(error)")
        }
    }

    /// Extended JSON written for a document reads back, and writing what was read gives the
    /// same text (canonical and relaxed). The text, not the value, is compared, because a
    /// NaN payload or a non-canonical decimal128 legitimately reads back normalised.
    ///
    /// Skipped for a document with a `$`-prefixed key below the top level: the spec says such
    /// a document may be indistinguishable from a type wrapper ("Restrictions and limitations").
    static func checkExtendedJSON(_ document: BSONDocument) {
        guard !document.elements.contains(where: { hasDollarKey($0.value) }) else { return }
        for relaxed in [false, true] {
            let text = relaxed ? document.relaxedExtendedJSON() : document.canonicalExtendedJSON()
            let read: BSONDocument
            do { read = try ExtendedJSON.document(from: text) } catch {
                preconditionFailure("\(relaxed ? "relaxed" : "canonical") Extended JSON does not read back: \(error)\n\(text)")
            }
            let rewritten = relaxed ? read.relaxedExtendedJSON() : read.canonicalExtendedJSON()
            precondition(rewritten == text, "Extended JSON changes on a round trip:\n\(text)\n\(rewritten)")
            checkEncoding(read)
        }
    }

    /// Whether `value` holds, at any depth, a document with a `$`-prefixed key.
    static func hasDollarKey(_ value: BSON) -> Bool {
        switch value {
        case .document(let d): d.elements.contains { $0.key.hasPrefix("$") || hasDollarKey($0.value) }
        case .array(let values): values.contains(where: hasDollarKey)
        case .javascriptWithScope(let c): hasDollarKey(.document(c.scope))
        default: false
        }
    }

    /// Reads `bytes` as Extended JSON text (lossy UTF-8); a document it yields must encode,
    /// decode to the same value and be valid for encoding.
    public static func checkExtendedJSONText(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let document = try? ExtendedJSON.document(from: text) else { return }
        do throws(BSONEncodingError) { try document.validateForEncoding() } catch {
            preconditionFailure("the Extended JSON reader produced an unencodable document: \(error)")
        }
        let encoded = document.encoded()
        guard let decoded = check(encoded) else {
            preconditionFailure("a document read from Extended JSON encodes to invalid BSON")
        }
        precondition(decoded.encoded() == encoded, "Extended JSON document changes on a BSON round trip")
    }
}
