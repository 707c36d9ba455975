/// What a simulated server says it is in its hello reply.
public enum ServerRole: Sendable, Equatable, CustomStringConvertible {
    case standalone
    case mongos
    case primary
    case secondary

    public var description: String {
        switch self {
        case .standalone: "standalone"
        case .mongos: "mongos"
        case .primary: "primary"
        case .secondary: "secondary"
        }
    }

    /// Whether the server accepts writes.
    var isWritable: Bool { self != .secondary }
}
