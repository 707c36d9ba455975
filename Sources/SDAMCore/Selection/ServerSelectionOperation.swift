import MongoBSON

/// What a server is being selected for: a read with its read preference, or a write.
///
/// Writes carry no read preference: only a primary (or mongos, load balancer, or the single
/// server of a direct connection) can take them.
public enum ServerSelectionOperation: Sendable, Hashable, CustomStringConvertible {
    case read(ReadPreference)
    case write

    /// e.g. `read with read preference secondary (tags [{dc: ny}])`, or `write`.
    public var description: String {
        switch self {
        case .read(let readPreference): "read with read preference \(readPreference)"
        case .write: "write"
        }
    }
}
