import MongoBSON

/// A hello reply field that is present but not what the SDAM specification says servers send.
/// The monitor turns it into an Unknown server description carrying this text as its error,
/// so a misbehaving server is visible instead of half-parsed.
public struct HelloReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted path of the field, e.g. `hosts[2]` or `topologyVersion.counter`.
    public var field: String
    public var expected: String
    /// What came instead, as a short phrase.
    public var found: String

    public init(field: String, expected: String, found: String) {
        self.field = field
        self.expected = expected
        self.found = found
    }

    init(field: String, expected: String, found value: BSON?) {
        let found: String
        switch value {
        case nil: found = "nothing"
        case .string(let s)?: found = "string \"\(s.prefix(64))\""
        case let v?: found = v.typeName
        }
        self.init(field: field, expected: expected, found: found)
    }

    public var description: String { "invalid hello reply: field '\(field)' should be \(expected), found \(found)" }
}
