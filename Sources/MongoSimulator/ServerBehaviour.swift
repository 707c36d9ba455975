/// How a simulated server treats its clients, apart from what its state makes it answer: up,
/// hung, killed, or hostile in one chosen way. Every behaviour but `down` keeps accepting
/// connections; `revive` returns any of them to `normal`.
public enum ServerBehaviour: Sendable, Equatable, CustomStringConvertible {
    /// Accepts connections and answers every request.
    case normal
    /// Accepts connections but reads and answers nothing, on new and existing connections
    /// alike (like a process stopped with SIGSTOP). Reviving resumes where it stopped.
    case hung
    /// Killed: not listening (the port stays reserved for revive, so connecting is refused),
    /// every connection closed.
    case down
    /// Reads and answers, but badly: see `HostileBehaviour`.
    case hostile(HostileBehaviour)

    /// Whether the server reads and answers requests (it may still answer them badly).
    var answers: Bool {
        switch self {
        case .normal, .hostile: true
        case .hung, .down: false
        }
    }

    /// The hostile behaviour, if any.
    var hostility: HostileBehaviour? {
        if case .hostile(let behaviour) = self { behaviour } else { nil }
    }

    public var description: String {
        switch self {
        case .normal: "up"
        case .hung: "hung"
        case .down: "down"
        case .hostile(let behaviour): "hostile:\(behaviour)"
        }
    }
}
