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

    /// Whether the server reads and answers requests (it may still answer them badly).
    var answers: Bool {
        switch self {
        case .normal: true
        case .hung, .down: false
        }
    }

    public var description: String {
        switch self {
        case .normal: "up"
        case .hung: "hung"
        case .down: "down"
        }
    }
}
