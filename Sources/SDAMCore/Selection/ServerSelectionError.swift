import MongoBSON

/// Why server selection refused or failed, per the server-selection specification.
///
/// `invalidReadPreference` and `incompatibleTopology` are raised at once: waiting cannot fix
/// them. `noSuitableServer` is what a caller raises when its selection timeout expires; the
/// selector builds it (see `ServerSelector.noSuitableServerError(for:in:)`) so the message
/// says which servers were looked at and why none would do.
public enum ServerSelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The read preference can never be satisfied as written.
    case invalidReadPreference(ReadPreference, InvalidReadPreferenceReason)
    /// Some server's wire version range does not overlap the driver's (the topology's
    /// `compatibilityError`).
    case incompatibleTopology(String)
    /// Nothing in the topology is suitable for the operation right now.
    case noSuitableServer(operation: ServerSelectionOperation, reason: String)

    public var description: String {
        switch self {
        case .invalidReadPreference(let readPreference, let reason):
            "Invalid read preference \(readPreference): \(reason)"
        case .incompatibleTopology(let message):
            "Server selection failed: \(message)"
        case .noSuitableServer(let operation, let reason):
            "No server is suitable for \(operation): \(reason)"
        }
    }
}

/// The rules of the server-selection and max-staleness specifications that a read preference
/// can break.
public enum InvalidReadPreferenceReason: Sendable, Equatable, CustomStringConvertible {
    /// maxStalenessSeconds with mode primary: the primary is never stale, so the pair is
    /// contradictory.
    case maxStalenessWithPrimaryMode
    /// A non-empty tag set with mode primary: the primary is chosen whatever its tags.
    case tagSetsWithPrimaryMode
    /// maxStalenessSeconds below `minimumSeconds`, the larger of smallestMaxStalenessSeconds
    /// (90) and heartbeatFrequencyMS + idleWritePeriodMS in seconds (rounded up).
    case maxStalenessTooSmall(minimumSeconds: Int, heartbeatFrequencyMS: Int)
    /// An available server too old (maxWireVersion < 5) to report lastWriteDate.
    case maxStalenessNotSupported(server: ServerAddress, maxWireVersion: Int)

    public var description: String {
        switch self {
        case .maxStalenessWithPrimaryMode:
            "maxStalenessSeconds cannot be combined with mode primary"
        case .tagSetsWithPrimaryMode:
            "tag sets cannot be combined with mode primary"
        case .maxStalenessTooSmall(let minimum, let heartbeat):
            "maxStalenessSeconds must be at least \(minimum) (smallestMaxStalenessSeconds "
                + "\(MaxStaleness.smallestMaxStalenessSeconds), and heartbeatFrequencyMS \(heartbeat) "
                + "+ idleWritePeriodMS \(MaxStaleness.idleWritePeriodMS) in seconds)"
        case .maxStalenessNotSupported(let server, let wire):
            "server \(server) has maxWireVersion \(wire); maxStalenessSeconds needs 5 or later"
        }
    }
}
