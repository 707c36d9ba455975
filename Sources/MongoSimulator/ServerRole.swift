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

/// How a simulated server treats its clients, apart from what it answers.
///
/// This is the place for per-server behaviours: hostile ones (garbage bytes, truncated replies,
/// a slow trickle) become new cases here, and `ClientConnection` / `SimulatedServer` act on them.
public enum ServerBehaviour: Sendable, Equatable, CustomStringConvertible {
    /// Accepts connections and answers every request.
    case normal
    /// Accepts connections but reads and answers nothing, on new and existing connections
    /// alike (like a process stopped with SIGSTOP). Reviving resumes where it stopped.
    case hung
    /// Killed: not listening (the port stays reserved for revive), every connection closed.
    case down

    public var description: String {
        switch self {
        case .normal: "up"
        case .hung: "hung"
        case .down: "down"
        }
    }
}
