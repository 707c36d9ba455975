import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Request IDs for application connections, unique across the process.
private let nextRequestID = Atomic<Int32>(1)

/// One client's own connection to one server: a TCP connection, blocking for the application
/// thread that uses it (every wait bounded by `poll()`), handshaken with the same hello the
/// monitor sends, and running commands over OP_MSG.
///
/// It carries the server's pool generation at creation: once the topology's generation for
/// the server has moved past it (the pool was cleared), the connection is stale and the client
/// closes it instead of using it.
///
/// Package-visible so that the CMAP spec runner can drive a real `ServerConnectionPool` of them
/// against the simulator (the CMAP integration tests).
///
/// Thread safety: used by the one thread that holds its client, except `interrupt()` and
/// `close()`, which `ClientPool.close()` may call from another thread. Both take `socketLock`,
/// so the descriptor is never shut down after it was closed (and possibly reused).
package final class ServerConnection: @unchecked Sendable, PoolableConnection {
    let address: ServerAddress
    /// The server's pool generation when this connection was created.
    let generation: Int
    /// From the handshake reply: decides pool clearing for pre-4.2 servers on errors.
    let maxWireVersion: Int
    let maxMessageSizeBytes: Int
    /// The handshake's hello reply (the topology learns from it too).
    let helloReply: BSONDocument
    /// Load-balanced mode: the service behind the load balancer this connection reached, from
    /// the handshake (required there: load-balancers spec).
    package let serviceId: BSONObjectID?
    private let socket: NonBlockingSocket
    /// The connection's bytes, through TLS when the pool asks for it.
    private let stream: ConnectionStream
    /// Guards the descriptor against close/shutdown races, and whether `interrupt()` ran.
    private let socketLock = ConditionLock<Bool>(false)

    private init(address: ServerAddress, generation: Int, socket: NonBlockingSocket, stream: ConnectionStream, handshake: BSONDocument) {
        self.address = address
        self.generation = generation
        self.socket = socket
        self.stream = stream
        helloReply = handshake
        serviceId = handshake["serviceId"]?.objectIDValue
        maxWireVersion = handshake["maxWireVersion"]?.int64Value.flatMap { Int(exactly: $0) } ?? 0
        maxMessageSizeBytes = handshake["maxMessageSizeBytes"]?.int64Value.flatMap { Int(exactly: $0) }
            .flatMap { $0 > 0 ? $0 : nil } ?? FrameDecoder.defaultMaxMessageSizeBytes
    }

    static func makeRequestID() -> Int32 {
        nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    // MARK: - Establishing

    /// Resolves the server's host (on this application thread: it may block), connects to each
    /// resolved address in turn until one accepts, each within connectTimeoutMS, runs the TLS
    /// handshake when `security` has TLS (within the same connectTimeoutMS), then sends the
    /// handshake and reads its reply within connectTimeoutMS, and with credentials
    /// authenticates (each SASL round trip within connectTimeoutMS).
    ///
    /// The connect itself is bounded by connectTimeoutMS; from the handshake on, `canceller`
    /// (a pool clear with interruptInUseConnections, or the pool closing) can interrupt it.
    ///
    /// - Throws: `ConnectionError` in phase `beforeHandshakeCompletes`.
    package static func establish(
        to address: ServerAddress,
        generation: Int,
        settings: ClientSettings,
        security: ConnectionSecurity = .plaintext,
        canceller: EstablishmentCanceller? = nil
    ) throws(ConnectionError) -> ServerConnection {
        let resolved: [ResolvedAddress]
        if let literal = NameResolver.literal(host: address.host, port: address.port) {
            resolved = literal
        } else {
            switch NameResolver.resolveBlocking(host: address.host, port: address.port) {
            case .success(let addresses): resolved = addresses
            case .failure(let error):
                throw ConnectionError(kind: .nameResolution, server: address, phase: .beforeHandshakeCompletes, reason: error.description)
            }
        }
        var failures: [ConnectionError] = []
        for socketAddress in resolved {
            let deadline = BlockingChannel.deadline(after: settings.monitoring.connectTimeout)
            do {
                let socket = try BlockingChannel.connect(to: socketAddress, server: address, deadline: deadline)
                let stream = try secure(socket, address: address, security: security, deadline: deadline)
                return try handshake(socket, stream: stream, authentication: security.authentication(for: address),
                                     address: address, generation: generation, settings: settings, canceller: canceller)
            } catch {
                failures.append(error)
            }
        }
        let allTimedOut = !failures.isEmpty && failures.allSatisfy { $0.kind == .timeout }
        if failures.count == 1, let only = failures.first { throw only }
        throw ConnectionError(
            kind: allTimedOut ? .timeout : .network,
            server: address,
            phase: .beforeHandshakeCompletes,
            reason: "every address failed: " + failures.map(\.reason).joined(separator: "; ")
        )
    }

    /// The connection's stream: with TLS, after its handshake (certificate and host name
    /// checked) within `deadline`; the socket is closed when that fails.
    private static func secure(
        _ socket: NonBlockingSocket, address: ServerAddress, security: ConnectionSecurity, deadline: UInt64?
    ) throws(ConnectionError) -> ConnectionStream {
        guard let tls = security.tls else { return ConnectionStream(fd: socket.fd, peer: address.description) }
        do throws(ConnectionError) {
            let session: TLSSession
            do {
                session = try tls.makeSession(serverName: address.host)
            } catch {
                throw ConnectionError(kind: .tls(error.kind), server: address, phase: .beforeHandshakeCompletes, reason: error.description)
            }
            let stream = ConnectionStream(fd: socket.fd, peer: address.description, tls: session)
            try BlockingChannel(stream: stream, server: address, phase: .beforeHandshakeCompletes).handshakeTLS(until: deadline)
            return stream
        } catch {
            socket.close()
            throw error
        }
    }

    private static func handshake(
        _ socket: NonBlockingSocket,
        stream: ConnectionStream,
        authentication: ConnectionAuthentication?,
        address: ServerAddress,
        generation: Int,
        settings: ClientSettings,
        canceller: EstablishmentCanceller?
    ) throws(ConnectionError) -> ServerConnection {
        let fd = socket.fd
        canceller?.register { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        let channel = BlockingChannel(stream: stream, server: address, phase: .beforeHandshakeCompletes)
        do throws(ConnectionError) {
            let opening = try authentication?.opening()
            let message = Handshake.handshakeMessage(
                requestID: makeRequestID(), appName: settings.monitoring.appName, loadBalanced: settings.topology.loadBalanced,
                saslSupportedMechs: opening?.saslSupportedMechs, speculativeAuthenticate: opening?.speculativeAuthenticate
            )
            let reply = try channel.roundTrip(
                message,
                deadline: BlockingChannel.deadline(after: settings.monitoring.connectTimeout),
                maxMessageSizeBytes: FrameDecoder.defaultMaxMessageSizeBytes,
                doing: "the handshake"
            )
            let document: BSONDocument
            do {
                document = try Handshake.replyDocument(of: reply, from: address)
            } catch {
                throw ConnectionError(kind: .invalidReply, server: address, phase: .beforeHandshakeCompletes, reason: error.reason)
            }
            guard document["ok"]?.isTruthy == true else {
                throw ConnectionError(
                    kind: .handshakeRejected(document), server: address, phase: .beforeHandshakeCompletes,
                    reason: "the handshake was refused: " + (document["errmsg"]?.stringValue ?? "reply has no ok: 1")
                )
            }
            if settings.topology.loadBalanced, document["serviceId"]?.objectIDValue == nil {
                throw ConnectionError(
                    kind: .invalidReply, server: address, phase: .beforeHandshakeCompletes,
                    reason: "expected a serviceId in the load balancer's handshake reply (loadBalanced=true), got none: "
                        + "is \(address) a load balancer in front of mongos?")
            }
            if let authentication, let opening {
                try authentication.complete(opening, helloReply: document) { command, database throws(ConnectionError) in
                    try channel.command(command, database: database, requestID: makeRequestID(),
                                        deadline: BlockingChannel.deadline(after: settings.monitoring.connectTimeout),
                                        doing: "authenticating (\(command.keys.first ?? "?"))")
                }
            }
            canceller?.unregister()
            return ServerConnection(address: address, generation: generation, socket: socket, stream: stream, handshake: document)
        } catch {
            canceller?.unregister()
            socket.close()
            if canceller?.isCancelled == true {
                throw ConnectionError(kind: .network, server: address, phase: .beforeHandshakeCompletes,
                                      reason: "the connection was interrupted while being established: \(error.reason)")
            }
            throw error
        }
    }

    // MARK: - Commands

    /// Sends `command` (with `$db` added) over OP_MSG and returns the reply document, whatever
    /// its `ok`. The send and the reply together must finish within `socketTimeout` (nil = no
    /// limit).
    ///
    /// - Throws: `ConnectionError` in phase `afterHandshakeCompletes`; after a network error,
    ///   a timeout or an invalid reply the connection must be closed.
    package func run(_ command: BSONDocument, database: String, socketTimeout: Duration?) throws(ConnectionError) -> BSONDocument {
        let channel = BlockingChannel(stream: stream, server: address, phase: .afterHandshakeCompletes)
        let name = command.keys.first ?? "(empty)"
        let message = Handshake.commandMessage(requestID: Self.makeRequestID(), command: command, database: database)
        let reply = try channel.roundTrip(
            message,
            deadline: BlockingChannel.deadline(after: socketTimeout),
            maxMessageSizeBytes: maxMessageSizeBytes,
            doing: "running the command '\(name)'"
        )
        return try ConnectionError.document(of: reply, from: address, phase: .afterHandshakeCompletes)
    }

    // MARK: - Closing

    /// Shuts the connection down without closing the descriptor, so that an operation blocked
    /// on it in another thread wakes at once with an error; that thread then closes it.
    package func interrupt() {
        socketLock.withLock { interrupted in
            interrupted = true
            if socket.isOpen { _ = shutdown(socket.fd, Int32(SHUT_RDWR)) }
        }
    }

    /// Whether the pool interrupted this connection (its operation's error is the pool's).
    var wasInterrupted: Bool { socketLock.withLock { $0 } }

    package func close() {
        socketLock.withLock { _ in socket.close() }
    }

    var isOpen: Bool { socketLock.withLock { _ in socket.isOpen } }
}
