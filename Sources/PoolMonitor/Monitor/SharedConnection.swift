import MongoBSON
import SDAMCore
import MongoWire

/// What the handshake of a connection that monitoring shares with the application carries for
/// authentication (auth spec: `saslSupportedMechs` and `speculativeAuthenticate`), and the
/// client's state to finish the conversation when it first uses the connection.
package struct SharedHandshake: Sendable {
    package var saslSupportedMechs: String?
    package var speculativeAuthenticate: BSONDocument?
    /// The client's conversation, handed back in `SharedConnectionInfo.handshake`.
    package var conversation: (any Sendable)?

    package init(saslSupportedMechs: String?, speculativeAuthenticate: BSONDocument?, conversation: (any Sendable)?) {
        self.saslSupportedMechs = saslSupportedMechs
        self.speculativeAuthenticate = speculativeAuthenticate
        self.conversation = conversation
    }
}

/// A single-threaded client's rule for its monitors: each server's one connection serves the
/// checks and the application's commands.
struct SharedConnections {
    /// Makes the authentication part of each new connection's handshake; nil without
    /// credentials.
    var handshake: (@Sendable (ServerAddress) -> SharedHandshake)?
}

/// A server's open connection as the application sees it (single-threaded mode).
package struct SharedConnectionInfo: Sendable {
    /// The server's pool generation when the connection was made: once the topology's has
    /// moved past it, the connection is stale.
    package var generation: Int
    /// The handshake's hello reply (maxWireVersion, maxMessageSizeBytes, the speculative
    /// authentication's answer).
    package var handshakeReply: BSONDocument
    /// What the handshake carried for authentication; nil without credentials.
    package var handshake: SharedHandshake?
    /// Whether the application finished authenticating it (always, without credentials).
    package var authenticated: Bool
    /// A check sent a hello over it after the handshake (the server may have dropped a
    /// speculative conversation left open since).
    package var helloSinceHandshake: Bool
    /// When a message last went out or came in (socketCheckIntervalMS counts from there).
    package var lastUsedNS: UInt64

    package var maxWireVersion: Int {
        handshakeReply["maxWireVersion"]?.int64Value.flatMap { Int(exactly: $0) } ?? 0
    }

    package var maxMessageSizeBytes: Int {
        handshakeReply["maxMessageSizeBytes"]?.int64Value.flatMap { Int(exactly: $0) }.flatMap { $0 > 0 ? $0 : nil }
            ?? FrameDecoder.defaultMaxMessageSizeBytes
    }
}

/// How an application's round trip on a shared connection ended.
package enum SharedRoundTrip: Sendable {
    case reply(WireMessage)
    /// The connection failed or the server closed it: it is closed, and the server's monitor
    /// knows (its next check connects anew).
    case failed(reason: String)
    /// No reply by the deadline: the connection is closed.
    case timedOut
    /// The server has no open connection the application may use now.
    case noConnection
}
