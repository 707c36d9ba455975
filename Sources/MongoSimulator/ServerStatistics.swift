import Synchronization

/// Counters of one simulated server, readable from any thread while the loop updates them.
public struct ServerStatistics: Sendable, Equatable {
    /// hello / isMaster commands received (over OP_MSG or OP_QUERY).
    public var hellosReceived: Int
    /// Connections accepted since the server started.
    public var connectionsAccepted: Int
    /// Connections open now.
    public var openConnections: Int
    /// Connections that authenticated (speculatively in the handshake, or with SASL commands
    /// or `authenticate` after it).
    public var authenticatedConnections: Int = 0
    /// `saslStart`, `saslContinue` and `authenticate` commands received (the handshake's
    /// speculative step is not one of them).
    public var authenticationCommandsReceived: Int = 0
}

/// The live counters behind `ServerStatistics`: atomics written on the loop thread.
final class ServerCounters: Sendable {
    private let hellos = Atomic<Int>(0)
    private let accepted = Atomic<Int>(0)
    private let open = Atomic<Int>(0)
    private let authenticated = Atomic<Int>(0)
    private let authenticationCommands = Atomic<Int>(0)

    func connectionAuthenticated() { authenticated.add(1, ordering: .relaxed) }
    func authenticationCommandReceived() { authenticationCommands.add(1, ordering: .relaxed) }

    func helloReceived() { hellos.add(1, ordering: .relaxed) }

    func connectionOpened() {
        accepted.add(1, ordering: .relaxed)
        open.add(1, ordering: .relaxed)
    }

    func connectionClosed() { open.subtract(1, ordering: .relaxed) }

    var snapshot: ServerStatistics {
        ServerStatistics(
            hellosReceived: hellos.load(ordering: .relaxed),
            connectionsAccepted: accepted.load(ordering: .relaxed),
            openConnections: open.load(ordering: .relaxed),
            authenticatedConnections: authenticated.load(ordering: .relaxed),
            authenticationCommandsReceived: authenticationCommands.load(ordering: .relaxed))
    }
}
