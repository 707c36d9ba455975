import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// What went wrong on an application connection, before the client turns it into SDAM
/// feedback (`ApplicationError`) and a `ClientPoolError`.
package struct ConnectionError: Error, Sendable {
    package enum Kind: Sendable, Equatable {
        /// Reset, refused, EOF, unreachable...
        case network
        /// connectTimeoutMS or socketTimeoutMS passed.
        case timeout
        /// Bytes that are not a usable reply (bad framing, bad BSON, wrong responseTo).
        case invalidReply
        /// The command could not be encoded or is too large; nothing was sent.
        case invalidCommand
        /// The handshake hello was answered with `ok: 0`.
        case handshakeRejected(BSONDocument)
    }

    package var kind: Kind
    package var server: ServerAddress
    /// Whether the connection was still being established.
    package var phase: ApplicationError.Phase
    /// What the connection was doing and what went wrong, in words.
    package var reason: String

    /// The SDAM kind of a network error or timeout; nil for errors SDAM does not take.
    package var applicationErrorKind: ApplicationError.Kind? {
        switch kind {
        case .network: .network
        case .timeout: .timeout
        case .handshakeRejected(let reply): .command(reply)
        case .invalidReply, .invalidCommand: nil
        }
    }
}
