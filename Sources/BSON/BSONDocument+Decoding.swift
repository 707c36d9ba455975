extension BSONDocument {
    /// The nesting limit of documents and arrays when decoding: deep enough for any server
    /// reply, shallow enough that hostile input cannot exhaust the stack.
    public static let defaultMaxDepth = 100

    /// Decodes one BSON document from untrusted bytes, validating all of it.
    ///
    /// The input must be exactly one document: its declared length must equal `bytes.count`.
    /// Every declared length is checked against the bytes actually there, strings and keys
    /// must be UTF-8, booleans 0 or 1, and so on (see `BSONDecodingError.Kind`).
    ///
    /// - Parameters:
    ///   - bytes: The document's bytes.
    ///   - maxDepth: How many documents and arrays may nest, the top level counting as 1. The
    ///     decoder recurses once per level, so keep it in the hundreds.
    /// - Throws: `BSONDecodingError` saying what was expected, what came, and at which offset.
    public init(bytes: [UInt8], maxDepth: Int = BSONDocument.defaultMaxDepth) throws(BSONDecodingError) {
        try self.init(bytes: bytes[...], maxDepth: maxDepth)
    }

    /// Decodes one BSON document from a slice (a frame inside a larger buffer) without copying
    /// it first. Error offsets count from the slice's first byte.
    public init(bytes: ArraySlice<UInt8>, maxDepth: Int = BSONDocument.defaultMaxDepth) throws(BSONDecodingError) {
        self = try BSONParser(bytes, maxDepth: maxDepth).topLevelDocument(build: true)
    }
}
