/// An ordered BSON document. Keys keep their insertion order (BSON is ordered: a command's
/// name must be its first key) and duplicate keys are allowed, as on the wire.
public struct BSONDocument: Sendable, Equatable, ExpressibleByDictionaryLiteral {
    public private(set) var elements: [(key: String, value: BSON)]

    public init() {
        elements = []
    }

    public init(_ elements: [(key: String, value: BSON)]) {
        self.elements = elements
    }

    public init(dictionaryLiteral elements: (String, BSON)...) {
        self.elements = elements.map { (key: $0.0, value: $0.1) }
    }

    public static func == (lhs: BSONDocument, rhs: BSONDocument) -> Bool {
        lhs.elements.count == rhs.elements.count
            && zip(lhs.elements, rhs.elements).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public var count: Int { elements.count }
    public var isEmpty: Bool { elements.isEmpty }
    public var keys: [String] { elements.map(\.key) }

    /// The value of the first element named `key`. Setting replaces that element in place, or
    /// appends when there is none; setting nil removes every element with that key.
    public subscript(key: String) -> BSON? {
        get { elements.first(where: { $0.key == key })?.value }
        set {
            if let newValue {
                if let i = elements.firstIndex(where: { $0.key == key }) {
                    elements[i].value = newValue
                } else {
                    elements.append((key: key, value: newValue))
                }
            } else {
                elements.removeAll { $0.key == key }
            }
        }
    }

    /// Appends an element without looking for an existing one with the same key.
    public mutating func append(_ key: String, _ value: BSON) {
        elements.append((key: key, value: value))
    }
}
