import MongoBSON

/// Which servers an operation may read from, per the server-selection specification.
public struct ReadPreference: Sendable, Hashable, CustomStringConvertible {
    /// The five read preference modes, with the spec's names as raw values.
    public enum Mode: String, Sendable, Hashable, CaseIterable {
        case primary
        case primaryPreferred
        case secondary
        case secondaryPreferred
        case nearest
    }

    public var mode: Mode
    /// Tag sets tried in order; `[[:]]` (one empty set) matches every server. Must be empty for
    /// `primary`.
    public var tagSets: [[String: String]]
    /// Maximum staleness in seconds; nil means no maximum (the URI's -1).
    public var maxStalenessSeconds: Int?

    public init(mode: Mode, tagSets: [[String: String]] = [], maxStalenessSeconds: Int? = nil) {
        self.mode = mode
        self.tagSets = tagSets
        self.maxStalenessSeconds = maxStalenessSeconds
    }

    public static let primary = ReadPreference(mode: .primary)
    public static let primaryPreferred = ReadPreference(mode: .primaryPreferred)
    public static let secondary = ReadPreference(mode: .secondary)
    public static let secondaryPreferred = ReadPreference(mode: .secondaryPreferred)
    public static let nearest = ReadPreference(mode: .nearest)

    /// e.g. `secondary (tags [{dc: ny}], maxStalenessSeconds 90)`, for error messages.
    public var description: String {
        var parts: [String] = []
        if !tagSets.isEmpty {
            let sets = tagSets.map { set in
                "{" + set.sorted(by: { $0.key < $1.key }).map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
            }
            parts.append("tags [\(sets.joined(separator: ", "))]")
        }
        if let maxStalenessSeconds { parts.append("maxStalenessSeconds \(maxStalenessSeconds)") }
        return parts.isEmpty ? mode.rawValue : "\(mode.rawValue) (\(parts.joined(separator: ", ")))"
    }
}
