import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// What went wrong on an application connection, before the client turns it into SDAM
/// feedback (`ApplicationError`) and a `ClientPoolError`.
package struct ConnectionError: Error, Sendable {
    package enum Kind: Sendable, Equatable {
        /// Reset, refused, EOF, unreachable...
        case network
        /// The server's host name did not resolve (getaddrinfo failed).
        case nameResolution
        /// connectTimeoutMS or socketTimeoutMS passed.
        case timeout
        /// Bytes that are not a usable reply (bad framing, bad BSON, wrong responseTo).
        case invalidReply
        /// The command could not be encoded or is too large; nothing was sent.
        case invalidCommand
        /// The handshake hello was answered with `ok: 0`.
        case handshakeRejected(BSONDocument)
        /// TLS refused the server (its certificate or host name) or failed its handshake
        /// (a plaintext server, no common protocol). A reset or EOF during the TLS handshake
        /// is `.network` instead: that one may be an overloaded server.
        case tls(TLSError.Kind)
        /// The credential was refused, or the SASL conversation failed.
        case authentication(AuthenticationFailure)
    }

    package var kind: Kind
    package var server: ServerAddress
    /// Whether the connection was still being established.
    package var phase: ApplicationError.Phase
    /// What the connection was doing and what went wrong, in words.
    package var reason: String

    /// The SDAM kind of the error; nil for errors SDAM does not take.
    ///
    /// A host that does not resolve, and a handshake reply that cannot be read, are network
    /// errors before the handshake completed: the server is Unknown to this client and its
    /// pool is cleared (SDAM "Error handling"). An unreadable reply on an established
    /// connection closes that connection only.
    package var applicationErrorKind: ApplicationError.Kind? {
        switch kind {
        case .network, .nameResolution: .network
        case .timeout: .timeout
        case .handshakeRejected(let reply): .command(reply)
        case .invalidReply: phase == .beforeHandshakeCompletes ? .network : nil
        case .invalidCommand: nil
        case .tls: .network
        case .authentication(let failure): .authentication(failure.reason)
        }
    }

    /// The SDAM feedback for this error on a connection of `generation`, if SDAM takes it.
    package func applicationError(generation: Int, maxWireVersion: Int, serviceId: BSONObjectID? = nil) -> ApplicationError? {
        guard let kind = applicationErrorKind else { return nil }
        var error = ApplicationError(address: server, generation: generation, maxWireVersion: maxWireVersion,
                                     phase: phase, kind: kind, serviceId: serviceId, detail: reason)
        error.isNotBackpressure = !mayCarryBackpressureLabels
        return error
    }

    /// Whether the error may carry the client-backpressure labels (SystemOverloadedError,
    /// RetryableError): only a connection that was refused, reset, closed or timed out while
    /// being established, the signs of an overloaded server. A name that does not resolve or
    /// a reply that cannot be read says nothing about load (CMAP's backpressure rules), and
    /// neither does a certificate or host name TLS refused: that server is Unknown and its
    /// pool is cleared.
    package var mayCarryBackpressureLabels: Bool {
        kind == .network || kind == .timeout
    }
}

extension ConnectionError {
    /// The bytes of `message`; refused (nothing is sent) when it does not encode or exceeds the
    /// server's maxMessageSizeBytes.
    static func encoded(
        _ message: WireMessage, maxMessageSizeBytes: Int, server: ServerAddress, phase: ApplicationError.Phase
    ) throws(ConnectionError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try message.encoded()
        } catch {
            throw ConnectionError(kind: .invalidCommand, server: server, phase: phase, reason: error.description)
        }
        guard bytes.count <= maxMessageSizeBytes else {
            throw ConnectionError(
                kind: .invalidCommand, server: server, phase: phase,
                reason: "the message is \(bytes.count) bytes, above the server's maxMessageSizeBytes \(maxMessageSizeBytes)"
            )
        }
        return bytes
    }

    /// The reply's document; one that cannot be read is an invalid reply.
    static func document(of reply: WireMessage, from server: ServerAddress, phase: ApplicationError.Phase) throws(ConnectionError) -> BSONDocument {
        do {
            return try Handshake.replyDocument(of: reply, from: server)
        } catch {
            throw ConnectionError(kind: .invalidReply, server: server, phase: phase, reason: error.reason)
        }
    }
}
