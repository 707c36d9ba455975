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
/// Thread safety: used by the one thread (or task) that checked it out of its pool, the pool's
/// lock handing it from one user to the next; a task may resume on another cooperative thread
/// between two steps, each resumption ordered after the last by its continuation. Only
/// `interrupt()` and `close()` come from other threads (a pool clear, `ClientPool.close()`);
/// both take `socketLock`, so the descriptor is never shut down after it was closed (and
/// possibly reused). A task's readiness wait is over, its watcher stopped on the loop, before
/// the task closes the connection.
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

    fileprivate init(address: ServerAddress, generation: Int, socket: NonBlockingSocket, stream: ConnectionStream, handshake: BSONDocument) {
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
        switch NameResolver.literal(host: address.host, port: address.port).map(Result.success)
            ?? NameResolver.resolveBlocking(host: address.host, port: address.port) {
        case .success(let addresses): resolved = addresses
        case .failure(let error): throw resolutionFailed(address, error)
        }
        var failures: [ConnectionError] = []
        for socketAddress in resolved {
            let deadline = BlockingChannel.deadline(after: settings.monitoring.connectTimeout)
            do {
                let socket = try BlockingChannel.connect(to: socketAddress, server: address, deadline: deadline)
                let stream = try makeStream(socket, address: address, security: security)
                let handshake = HandshakeConversation(address: address, settings: settings, authentication: security.authentication(for: address))
                return try establishing(socket, address: address, generation: generation, canceller: canceller) { () throws(ConnectionError) in
                    if stream.tls != nil {
                        try BlockingChannel(stream: stream, server: address, phase: .beforeHandshakeCompletes).handshakeTLS(until: deadline)
                    }
                    canceller?.register { [fd = socket.fd] in _ = shutdown(fd, Int32(SHUT_RDWR)) }
                    let channel = BlockingChannel(stream: stream, server: address, phase: .beforeHandshakeCompletes)
                    var conversation = handshake
                    var next = try conversation.start()
                    while case .send(let message, let activity) = next {
                        let reply = try channel.roundTrip(message, deadline: BlockingChannel.deadline(after: settings.monitoring.connectTimeout),
                                                          maxMessageSizeBytes: FrameDecoder.defaultMaxMessageSizeBytes, doing: activity)
                        next = try conversation.receive(reply)
                    }
                    return try conversation.connection(socket: socket, stream: stream, generation: generation)
                }
            } catch {
                failures.append(error)
            }
        }
        throw ConnectionSteps.combined(failures, server: address)
    }

    /// `establish(to:generation:settings:security:canceller:)` for the async face: the same
    /// steps, with name resolution on the bounded resolver's threads and every wait on the
    /// operations loop (`readiness`), so no cooperative thread blocks. (SCRAM's key derivation
    /// is CPU work and runs on the task's thread, once per credential and salt.)
    /// - Throws: `ConnectionError` in phase `beforeHandshakeCompletes`; `CancellationError`.
    package static func establish(
        to address: ServerAddress,
        generation: Int,
        settings: ClientSettings,
        security: ConnectionSecurity = .plaintext,
        canceller: EstablishmentCanceller? = nil,
        readiness: LoopReadiness
    ) async throws -> ServerConnection {
        let resolved: [ResolvedAddress]
        if let literal = NameResolver.literal(host: address.host, port: address.port) {
            resolved = literal
        } else {
            let waiter = AsyncWaiter<[ResolvedAddress]>()
            BoundedResolver.shared.resolve(host: address.host, port: address.port) { result in
                waiter.resume(result.mapError { resolutionFailed(address, $0) })
            }
            resolved = try await waiter.value(withdraw: {})
        }
        var failures: [ConnectionError] = []
        for socketAddress in resolved {
            let deadline = BlockingChannel.deadline(after: settings.monitoring.connectTimeout)
            do {
                let socket = try await LoopChannel.connect(to: socketAddress, server: address, deadline: deadline, readiness: readiness)
                let stream = try makeStream(socket, address: address, security: security)
                let handshake = HandshakeConversation(address: address, settings: settings, authentication: security.authentication(for: address))
                return try await establishing(socket, address: address, generation: generation, canceller: canceller) { () async throws in
                    let channel = LoopChannel(stream: stream, server: address, phase: .beforeHandshakeCompletes, readiness: readiness)
                    if stream.tls != nil { try await channel.handshakeTLS(until: deadline) }
                    canceller?.register { [fd = socket.fd] in _ = shutdown(fd, Int32(SHUT_RDWR)) }
                    var conversation = handshake
                    var next = try conversation.start()
                    while case .send(let message, let activity) = next {
                        let reply = try await channel.roundTrip(message, deadline: BlockingChannel.deadline(after: settings.monitoring.connectTimeout),
                                                                maxMessageSizeBytes: FrameDecoder.defaultMaxMessageSizeBytes, doing: activity)
                        next = try conversation.receive(reply)
                    }
                    return try conversation.connection(socket: socket, stream: stream, generation: generation)
                }
            } catch let error as ConnectionError {
                failures.append(error)
            }
        }
        throw ConnectionSteps.combined(failures, server: address)
    }

    private static func resolutionFailed(_ address: ServerAddress, _ error: NameResolver.ResolutionError) -> ConnectionError {
        ConnectionError(kind: .nameResolution, server: address, phase: .beforeHandshakeCompletes, reason: error.description)
    }

    /// The connection's stream, through a TLS session when `security` has TLS (its handshake
    /// comes next); the socket is closed when no session can be made.
    private static func makeStream(
        _ socket: NonBlockingSocket, address: ServerAddress, security: ConnectionSecurity
    ) throws(ConnectionError) -> ConnectionStream {
        guard let tls = security.tls else { return ConnectionStream(fd: socket.fd, peer: address.description) }
        do {
            return ConnectionStream(fd: socket.fd, peer: address.description, tls: try tls.makeSession(serverName: address.host))
        } catch {
            socket.close()
            throw ConnectionError(kind: .tls(error.kind), server: address, phase: .beforeHandshakeCompletes, reason: error.description)
        }
    }

    /// Runs the TLS and MongoDB handshakes of a connected socket: on failure the canceller lets
    /// go of the socket, the socket is closed, and an interruption says so.
    private static func establishing(
        _ socket: NonBlockingSocket, address: ServerAddress, generation: Int, canceller: EstablishmentCanceller?,
        _ body: () throws(ConnectionError) -> ServerConnection
    ) throws(ConnectionError) -> ServerConnection {
        do throws(ConnectionError) {
            let connection = try body()
            canceller?.unregister()
            return connection
        } catch {
            throw failedEstablishing(socket, address: address, canceller: canceller, error)
        }
    }

    private static func establishing(
        _ socket: NonBlockingSocket, address: ServerAddress, generation: Int, canceller: EstablishmentCanceller?,
        _ body: () async throws -> ServerConnection
    ) async throws -> ServerConnection {
        do {
            let connection = try await body()
            canceller?.unregister()
            return connection
        } catch let error as ConnectionError {
            throw failedEstablishing(socket, address: address, canceller: canceller, error)
        } catch {
            canceller?.unregister()
            socket.close()
            throw error
        }
    }

    private static func failedEstablishing(
        _ socket: NonBlockingSocket, address: ServerAddress, canceller: EstablishmentCanceller?, _ error: ConnectionError
    ) -> ConnectionError {
        canceller?.unregister()
        socket.close()
        if canceller?.isCancelled == true {
            return ConnectionError(kind: .network, server: address, phase: .beforeHandshakeCompletes,
                                   reason: "the connection was interrupted while being established: \(error.reason)")
        }
        return error
    }

    // MARK: - Commands

    /// Sends `command` (with `$db` added) over OP_MSG and returns the reply document, whatever
    /// its `ok`. The send and the reply together must finish within `socketTimeout` (nil = no
    /// limit).
    ///
    /// - Throws: `ConnectionError` in phase `afterHandshakeCompletes`; after a network error,
    ///   a timeout or an invalid reply the connection must be closed.
    package func run(_ command: BSONDocument, database: String, socketTimeout: Duration?) throws(ConnectionError) -> BSONDocument {
        let (message, activity) = commandMessage(command, database: database)
        let channel = BlockingChannel(stream: stream, server: address, phase: .afterHandshakeCompletes)
        let reply = try channel.roundTrip(message, deadline: BlockingChannel.deadline(after: socketTimeout),
                                          maxMessageSizeBytes: maxMessageSizeBytes, doing: activity)
        return try replyDocument(reply)
    }

    /// `run(_:database:socketTimeout:)` for a task: the same message and reply handling, the
    /// waits on the operations loop.
    /// - Throws: as the blocking one, and `CancellationError` (the connection must be closed).
    package func run(_ command: BSONDocument, database: String, socketTimeout: Duration?, readiness: LoopReadiness) async throws -> BSONDocument {
        let (message, activity) = commandMessage(command, database: database)
        let channel = LoopChannel(stream: stream, server: address, phase: .afterHandshakeCompletes, readiness: readiness)
        let reply = try await channel.roundTrip(message, deadline: BlockingChannel.deadline(after: socketTimeout),
                                                maxMessageSizeBytes: maxMessageSizeBytes, doing: activity)
        return try replyDocument(reply)
    }

    private func commandMessage(_ command: BSONDocument, database: String) -> (WireMessage, activity: String) {
        let name = command.keys.first ?? "(empty)"
        return (Handshake.commandMessage(requestID: Self.makeRequestID(), command: command, database: database), "running the command '\(name)'")
    }

    private func replyDocument(_ reply: WireMessage) throws(ConnectionError) -> BSONDocument {
        try ConnectionError.document(of: reply, from: address, phase: .afterHandshakeCompletes)
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

/// A new connection's handshake as steps, shared by both faces: the hello (legacy `isMaster`
/// with `helloOk`, or `hello` when load-balanced; speculative authentication in it), the checks
/// of its reply, then the authentication conversation, one command at a time.
struct HandshakeConversation {
    enum Step {
        /// Send this, then pass the reply to `receive`.
        case send(WireMessage, activity: String)
        /// The handshake and authentication are done.
        case done
    }

    let address: ServerAddress
    let settings: ClientSettings
    let authentication: ConnectionAuthentication?
    private var opening: ConnectionAuthentication.Opening?
    private var hello: BSONDocument?
    private var exchange: AuthenticationExchange?

    init(address: ServerAddress, settings: ClientSettings, authentication: ConnectionAuthentication?) {
        self.address = address
        self.settings = settings
        self.authentication = authentication
    }

    /// The hello to send first.
    mutating func start() throws(ConnectionError) -> Step {
        opening = try authentication?.opening()
        let message = Handshake.handshakeMessage(
            requestID: ServerConnection.makeRequestID(), appName: settings.monitoring.appName, loadBalanced: settings.topology.loadBalanced,
            saslSupportedMechs: opening?.saslSupportedMechs, speculativeAuthenticate: opening?.speculativeAuthenticate
        )
        return .send(message, activity: "the handshake")
    }

    /// Takes the reply to the last message sent.
    mutating func receive(_ reply: WireMessage) throws(ConnectionError) -> Step {
        let document: BSONDocument
        do {
            document = try Handshake.replyDocument(of: reply, from: address)
        } catch {
            throw ConnectionError(kind: .invalidReply, server: address, phase: .beforeHandshakeCompletes, reason: error.reason)
        }
        if hello == nil {
            try check(hello: document)
            hello = document
            if let authentication, let opening { exchange = try authentication.exchange(opening, helloReply: document) }
        } else {
            try exchange?.receive(document)
        }
        guard let exchange, let command = exchange.command else { return .done }
        let message = Handshake.commandMessage(requestID: ServerConnection.makeRequestID(), command: command, database: exchange.database)
        return .send(message, activity: "authenticating (\(command.keys.first ?? "?"))")
    }

    private func check(hello document: BSONDocument) throws(ConnectionError) {
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
    }

    /// The established connection, once `receive` returned `.done`.
    func connection(socket: NonBlockingSocket, stream: ConnectionStream, generation: Int) throws(ConnectionError) -> ServerConnection {
        guard let hello else {
            throw ConnectionError(kind: .invalidReply, server: address, phase: .beforeHandshakeCompletes, reason: "the handshake has no reply")
        }
        return ServerConnection(address: address, generation: generation, socket: socket, stream: stream, handshake: hello)
    }
}
