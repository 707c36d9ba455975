import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// One simulated mongod or mongos: its listener, its connections, its behaviour and its
/// counters. What it answers comes from the simulator (`respond`), which knows the deployment.
///
/// Loop-confined.
final class SimulatedServer {
    /// "127.0.0.1:port" (or the configuration's host name instead of 127.0.0.1).
    let address: String
    let counters = ServerCounters()
    /// Identifies this server process in `topologyVersion` (a new one after a kill and
    /// revive, as a restarted mongod has); the counter grows with each change of its state
    /// that a client should notice (`topologyChanged()`).
    private(set) var processId: BSONObjectID
    private(set) var topologyVersionCounter: Int64 = 0
    /// Whether hello reports `topologyVersion` and honours awaitable hellos (4.4+), or not
    /// (4.2: clients poll).
    let reportsTopologyVersion: Bool
    private(set) var behaviour: ServerBehaviour = .normal
    private(set) var connections: [Int64: ClientConnection] = [:]
    /// Awaitable hellos waiting for a change, by connection id.
    private var held: [Int64: HeldHello] = [:]
    /// The `failCommand` fail point (`configureFailPoint`), kept when it turns itself off (for
    /// the next configuration's `count`); nil before the first one. A restarted
    /// process (revive after kill) has none, as a real one.
    var failPoint: FailCommandFailPoint?
    /// Commands a fail point blocks, by connection id (`SimulatedServer+FailPoint`).
    var blockedCommands: [Int64: BlockedCommand] = [:]

    let loop: MonitorLoop
    private let readBuffer: ReadBuffer
    /// Every accepted connection speaks TLS with this context when set.
    private let tls: TLSContext?
    /// With `tls`: a connection whose first byte is no TLS ClientHello speaks plaintext.
    private let allowPlaintext: Bool
    /// Users, conversations and who each connection is (authentication required when the
    /// deployment has users).
    let authentication: ServerAuthentication
    private let listener: Listener
    private var nextConnectionID: Int64 = 1
    private var nextRequestID: Int32 = 1
    /// For the bytes of the `garbage` behaviour.
    /// Seeded from the system; not SystemRandomNumberGenerator, an empty struct whose inout
    /// access crashes ThreadSanitizer's instrumentation.
    private var random = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private let respond: (SimulatedServer, CommandRequest, Int64) -> BSONDocument

    /// Binds the port (0: the kernel chooses); call `start()` to listen.
    init(
        loop: MonitorLoop, port: UInt16, processId: BSONObjectID, reportsTopologyVersion: Bool, readBuffer: ReadBuffer,
        tls: TLSContext? = nil,
        allowPlaintext: Bool = false,
        hostName: String = "127.0.0.1",
        users: UserDirectory = .none,
        respond: @escaping (SimulatedServer, CommandRequest, Int64) -> BSONDocument
    ) throws(SocketError) {
        self.allowPlaintext = allowPlaintext
        self.loop = loop
        self.processId = processId
        self.reportsTopologyVersion = reportsTopologyVersion
        self.readBuffer = readBuffer
        self.tls = tls
        authentication = ServerAuthentication(directory: users)
        self.respond = respond
        listener = try Listener(loop: loop, port: port)
        address = "\(hostName):\(listener.port)"
        listener.onAccept = { [unowned self] fd in self.accept(fd) }
    }

    var topologyVersion: TopologyVersion {
        TopologyVersion(processId: processId, counter: topologyVersionCounter)
    }

    func start() throws(SocketError) {
        try listener.start()
    }

    /// The server's state changed in a way its clients should notice: the counter grows, and
    /// every held awaitable hello is answered now (unless the server is hung: it answers them
    /// on revive).
    func topologyChanged() {
        topologyVersionCounter += 1
        guard behaviour.answers else { return }
        for hello in Array(held.values) { answer(hello) }
    }

    /// Stops listening (keeping the port) and closes every connection.
    func kill() throws(SocketError) {
        try listener.stop()
        behaviour = .down
        closeConnections()
    }

    /// Keeps accepting but stops reading and answering, on every connection; held hellos
    /// stop waiting out their time.
    func hang() {
        guard behaviour.answers else { return }
        behaviour = .hung
        for connection in connections.values { connection.pause() }
        for hello in held.values { hello.stopWaiting() }
        topologyChanged()
    }

    /// Answers badly from now on, on existing connections too (a hung server resumes to do
    /// so). Clients are told at once: held hellos get the hostile answer.
    /// - Throws: `SimulatorError.serverDown` when the server was killed (revive it first).
    func misbehave(_ hostility: HostileBehaviour) throws(SimulatorError) {
        if behaviour == .down { throw .serverDown(address) }
        let wasHung = behaviour == .hung
        behaviour = .hostile(hostility)
        if wasHung {
            for connection in Array(connections.values) { connection.resume() }
        }
        topologyChanged()
        finishDueBlockedCommands()
    }

    /// Undoes `kill` (as a new process: `processId` replaces the old one) or `hang` (held
    /// hellos are answered at once, their wait being long over or the state changed).
    func revive(processId newProcessId: BSONObjectID) throws(SocketError) {
        switch behaviour {
        case .normal:
            return
        case .down:
            try listener.start()
            processId = newProcessId
            topologyVersionCounter = 0
            failPoint = nil
        case .hung, .hostile:
            break
        }
        behaviour = .normal
        for connection in Array(connections.values) { connection.resume() }
        topologyChanged()
        finishDueBlockedCommands()
    }

    /// Releases the port and closes every connection, for good.
    func shutdown() {
        listener.close()
        closeConnections()
        behaviour = .down
    }

    private func closeConnections() {
        for connection in Array(connections.values) { connection.close() }
    }

    private func accept(_ fd: Int32) {
        let session: TLSSession?
        do {
            session = try tls?.makeSession()
        } catch {
            _ = Glibc.close(fd)
            return
        }
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = ClientConnection(
            loop: loop, fd: fd, connectionId: id, readBuffer: readBuffer, tls: session, allowPlaintext: allowPlaintext,
            onMessage: { [unowned self] connection, message in self.handle(message, on: connection) },
            onClose: { [unowned self] connection in
                self.connections[connection.connectionId] = nil
                self.held[connection.connectionId]?.stopWaiting()
                self.held[connection.connectionId] = nil
                self.dropBlockedCommand(of: connection)
                self.authentication.connectionClosed(connection.connectionId)
                self.counters.connectionClosed()
            })
        connections[id] = connection
        counters.connectionOpened()
        if behaviour == .hung { connection.pause() }
    }

    private func handle(_ message: WireMessage, on connection: ClientConnection) -> ClientConnection.Response {
        switch WireExchange.request(from: message) {
        case .protocolViolation:
            return .close
        case .failure(let error, let queryFailure):
            return respond(with: error, queryFailure: queryFailure, to: message)
        case .command(let request):
            if request.isHello {
                counters.helloReceived()
                noteClientMetadata(request, on: connection)
            }
            if request.name == "configureFailPoint" {
                return respond(with: configureFailPoint(request), to: message)
            }
            if request.isHello, request.command["client"] != nil, behaviour.hostility == .unreadableHandshake {
                let reply = HostileBehaviour.unreadableReply(to: message, requestID: takeRequestID())
                return outgoing(reply).map { .reply($0) } ?? .close
            }
            if let response = failPointResponse(request, message: message, on: connection) { return response }
            return execute(request, message: message, on: connection)
        }
    }

    /// Runs a command: an awaitable hello is held, anything else answered now.
    func execute(_ request: CommandRequest, message: WireMessage, on connection: ClientConnection) -> ClientConnection.Response {
        if let reply = authenticating(request, on: connection) { return respond(with: reply, to: message) }
        switch awaitable(request) {
        case .success(let awaitable?):
            hold(request, message: message, awaitable: awaitable, on: connection)
            return .none
        case .success(nil):
            var document = answerDocument(request, connectionId: connection.connectionId)
            if request.isHello {
                document = counting(on: connection) {
                    authentication.decorate(hello: document, request: request.command, connection: connection.connectionId,
                                            certificateSubject: connection.peerCertificateSubject)
                }
            }
            return respond(with: document, to: message)
        case .failure(let failure):
            return respond(with: failure.document(), to: message)
        }
    }

    /// The reply to an authentication command, or Unauthorized for a command that needs an
    /// authenticated connection; nil when the command is to run.
    private func authenticating(_ request: CommandRequest, on connection: ClientConnection) -> BSONDocument? {
        let reply = counting(on: connection) {
            authentication.reply(to: request.command, database: request.database, connection: connection.connectionId,
                                 certificateSubject: connection.peerCertificateSubject)
        }
        if reply != nil {
            counters.authenticationCommandReceived()
            return reply
        }
        return authentication.refusal(of: request.name, connection: connection.connectionId)
    }

    /// Runs `body`, counting the connection as authenticated when it became so.
    private func counting<T>(on connection: ClientConnection, _ body: () -> T) -> T {
        let before = authentication.authenticated[connection.connectionId] != nil
        let result = body()
        if !before, authentication.authenticated[connection.connectionId] != nil { counters.connectionAuthenticated() }
        return result
    }

    /// The reply to `message` carrying `document`; `.none` when the request wants none.
    func respond(with document: BSONDocument, queryFailure: Bool = false, to message: WireMessage) -> ClientConnection.Response {
        let requestID = takeRequestID()
        guard let reply = WireExchange.reply(document, queryFailure: queryFailure, to: message, requestID: requestID) else {
            return .none
        }
        guard let outgoing = outgoing(reply) else { return .close }
        return .reply(outgoing)
    }

    /// Whether an awaitable hello holds `connection`.
    func holdsHello(on connection: ClientConnection) -> Bool {
        held[connection.connectionId] != nil
    }

    // MARK: - Awaitable hello

    /// The streaming fields of a hello; nil for any other request, when this server reports
    /// no topologyVersion (a 4.2 server ignores the fields and answers at once), and when it
    /// is hostile by ignoring maxAwaitTimeMS.
    private func awaitable(_ request: CommandRequest) -> Result<AwaitableHelloRequest?, CommandFailure> {
        guard reportsTopologyVersion, request.isHello, behaviour.hostility != .ignoresMaxAwaitTime else { return .success(nil) }
        do throws(CommandFailure) {
            return .success(try AwaitableHelloRequest.parse(request.command))
        } catch {
            return .failure(error)
        }
    }

    /// Holds the connection for an awaitable hello: it waits when the client is up to date,
    /// and is answered now otherwise (an exhaust stream then waits for its next reply).
    private func hold(
        _ request: CommandRequest, message: WireMessage, awaitable: AwaitableHelloRequest, on connection: ClientConnection
    ) {
        let hello = HeldHello(
            loop: loop, connection: connection, request: request, message: message, awaitable: awaitable
        ) { [unowned self] hello in self.answer(hello) }
        held[connection.connectionId] = hello
        connection.hold()
        if awaitable.waits(at: topologyVersion) {
            hello.wait()
        } else {
            answer(hello)
        }
    }

    /// Answers a held hello with the state of now. An exhaust stream (`moreToCome` on a
    /// successful reply) waits again for its next reply; otherwise the hello is done and the
    /// connection serves the requests that queued behind it.
    private func answer(_ hello: HeldHello) {
        let connection = hello.connection
        guard behaviour.answers, !connection.isClosed,
              held[connection.connectionId] === hello else { return }
        let document = answerDocument(hello.request, connectionId: connection.connectionId)
        let streaming = hello.exhaust && document["ok"]?.isTruthy == true
        let requestID = takeRequestID()
        let reply = WireExchange.reply(document, to: hello.message, requestID: requestID,
                                       responseTo: hello.responseTo, moreToCome: streaming)
        if streaming {
            hello.responseTo = requestID
            hello.wait()
        } else {
            hello.stopWaiting()
            held[connection.connectionId] = nil
        }
        guard let reply, let outgoing = outgoing(reply) else {
            connection.close()
            return
        }
        connection.deliver(outgoing)
        if !streaming { connection.release() }
    }

    // MARK: - Replies

    /// The reply document for a command, a hello's worded as a hostile behaviour would.
    func answerDocument(_ request: CommandRequest, connectionId: Int64) -> BSONDocument {
        let document = respond(self, request, connectionId)
        guard request.isHello, let hostility = behaviour.hostility, document["ok"]?.isTruthy == true else {
            return document
        }
        return hostility.tamper(hello: document, address: address)
    }

    /// The reply as it goes on the wire, spoilt by a hostile behaviour; nil when it cannot be
    /// encoded.
    private func outgoing(_ reply: WireMessage) -> OutgoingReply? {
        guard let bytes = try? reply.encoded() else { return nil }
        guard let hostility = behaviour.hostility else { return OutgoingReply(bytes: bytes) }
        return hostility.outgoing(bytes, random: &random)
    }

    private func takeRequestID() -> Int32 {
        let requestID = nextRequestID
        nextRequestID = nextRequestID == Int32.max ? 1 : nextRequestID + 1
        return requestID
    }
}
