/// A validated BSON document read lazily: the monitor's hot path reads a handful of fields of
/// a hello reply without building the rest.
///
/// Creating a view checks the whole frame once, with the same rules as `BSONDocument(bytes:)`
/// but without allocating values, and records where each top-level element starts. Reading
/// a field then decodes only that element; it cannot fail, because its bytes were checked.
public struct BSONDocumentView: Sendable {
    /// One top-level element: its type byte, key bytes and value start.
    struct Entry: Sendable {
        var type: UInt8
        var key: Range<Int>
        var valueStart: Int
    }

    private let bytes: ArraySlice<UInt8>
    private let maxDepth: Int
    private let entries: [Entry]

    /// Validates `bytes` as exactly one BSON document.
    ///
    /// - Throws: `BSONDecodingError`, as `BSONDocument(bytes:maxDepth:)` would for the same input.
    public init(bytes: [UInt8], maxDepth: Int = BSONDocument.defaultMaxDepth) throws(BSONDecodingError) {
        try self.init(bytes: bytes[...], maxDepth: maxDepth)
    }

    /// Validates a slice (a frame inside a larger buffer) without copying it.
    public init(bytes: ArraySlice<UInt8>, maxDepth: Int = BSONDocument.defaultMaxDepth) throws(BSONDecodingError) {
        let parser = BSONParser(bytes, maxDepth: maxDepth)
        guard maxDepth >= 1 else {
            throw parser.error(.nestingTooDeep, at: bytes.startIndex, expected: "documents nested at most \(maxDepth) deep",
                               found: "nesting level 1")
        }
        let end = try parser.documentFrame(at: bytes.startIndex, limit: bytes.endIndex)
        var entries: [Entry] = []
        var index = bytes.startIndex + 4
        let contentEnd = end - 1
        while index < contentEnd {
            let header = try parser.elementHeader(at: index, contentEnd: contentEnd)
            let (_, next) = try parser.value(type: header.type, at: header.valueStart, limit: contentEnd, depth: 1, build: false)
            entries.append(Entry(type: header.type, key: header.key, valueStart: header.valueStart))
            index = next
        }
        // Checked last, as the tree decoder does, so both report the same first error.
        try parser.checkNoTrailingBytes(after: end)
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.entries = entries
    }

    /// Number of top-level elements.
    public var count: Int { entries.count }

    /// Top-level keys in order.
    public var keys: [String] {
        let parser = BSONParser(bytes, maxDepth: maxDepth)
        return entries.map { parser.string($0.key) }
    }

    /// The value of the first top-level element named `key`, decoded on demand.
    public subscript(key: String) -> BSON? {
        value(forKey: key)
    }

    /// The value of the first top-level element named `key`, decoded on demand; nil if absent.
    public func value(forKey key: String) -> BSON? {
        let parser = BSONParser(bytes, maxDepth: maxDepth)
        let wanted = key.utf8
        for entry in entries where bytes[entry.key].elementsEqual(wanted) {
            return decode(entry, parser)
        }
        return nil
    }

    /// The whole document as a tree.
    public func document() -> BSONDocument {
        let parser = BSONParser(bytes, maxDepth: maxDepth)
        return BSONDocument(entries.map { (key: parser.string($0.key), value: decode($0, parser)) })
    }

    /// Decodes an element validated by `init`; a failure here would be a bug of the parser,
    /// reported as null rather than a trap.
    private func decode(_ entry: Entry, _ parser: BSONParser) -> BSON {
        let contentEnd = bytes.endIndex - 1
        return (try? parser.value(type: entry.type, at: entry.valueStart, limit: contentEnd, depth: 1, build: true).0) ?? .null
    }
}

extension BSONDocument {
    /// Builds the document of a validated view.
    public init(_ view: BSONDocumentView) {
        self = view.document()
    }
}
