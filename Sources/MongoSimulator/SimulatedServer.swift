import PoolMonitor

/// One simulated mongod or mongos: its listener, its connections, its behaviour and its
/// counters. What it answers comes from the simulator (`respond`), which knows the deployment.
///
/// Loop-confined.
final class SimulatedServer {
    /// "127.0.0.1:port".
    let address: String
    let counters = ServerCounters()
    /// Identifies this server process in `topologyVersion`; the counter grows with each change
    /// of its state that a client should notice.
    let processId: BSONObjectID
    var topologyVersionCounter: Int64 = 0
    private(set) var behaviour: ServerBehaviour = .normal
    private(set) var connections: [Int64: ClientConnection] = [:]

    private let loop: EventLoop
    private let readBuffer: ReadBuffer
    private let listener: Listener
    private var nextConnectionID: Int64 = 1
    private var nextRequestID: Int32 = 1
    private let respond: (SimulatedServer, CommandRequest, Int64) -> BSONDocument

    /// Binds the port (0: the kernel chooses); call `start()` to listen.
    init(
        loop: EventLoop, port: UInt16, processId: BSONObjectID, readBuffer: ReadBuffer,
        respond: @escaping (SimulatedServer, CommandRequest, Int64) -> BSONDocument
    ) throws(SocketError) {
        self.loop = loop
        self.processId = processId
        self.readBuffer = readBuffer
        self.respond = respond
        listener = try Listener(loop: loop, port: port)
        address = "127.0.0.1:\(listener.port)"
        listener.onAccept = { [unowned self] fd in self.accept(fd) }
    }

    var topologyVersion: TopologyVersion {
        TopologyVersion(processId: processId, counter: topologyVersionCounter)
    }

    func start() throws(SocketError) {
        try listener.start()
    }

    /// Stops listening (keeping the port) and closes every connection.
    func kill() throws(SocketError) {
        try listener.stop()
        closeConnections()
        behaviour = .down
    }

    /// Keeps accepting but stops reading and answering, on every connection.
    func hang() {
        guard behaviour == .normal else { return }
        behaviour = .hung
        for connection in connections.values { connection.pause() }
    }

    /// Undoes `kill` or `hang`.
    func revive() throws(SocketError) {
        switch behaviour {
        case .normal:
            return
        case .down:
            try listener.start()
        case .hung:
            break
        }
        behaviour = .normal
        for connection in Array(connections.values) { connection.resume() }
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
        let id = nextConnectionID
        nextConnectionID += 1
        let connection = ClientConnection(
            loop: loop, fd: fd, connectionId: id, readBuffer: readBuffer,
            onMessage: { [unowned self] connection, message in self.handle(message, on: connection) },
            onClose: { [unowned self] connection in
                self.connections[connection.connectionId] = nil
                self.counters.connectionClosed()
            })
        connections[id] = connection
        counters.connectionOpened()
        if behaviour == .hung { connection.pause() }
    }

    private func handle(_ message: WireMessage, on connection: ClientConnection) -> ClientConnection.Response {
        let document: BSONDocument
        var queryFailure = false
        switch WireExchange.request(from: message) {
        case .protocolViolation:
            return .close
        case .failure(let error, let failed):
            document = error
            queryFailure = failed
        case .command(let request):
            if request.isHello { counters.helloReceived() }
            document = respond(self, request, connection.connectionId)
        }
        let requestID = nextRequestID
        nextRequestID = nextRequestID == Int32.max ? 1 : nextRequestID + 1
        guard let reply = WireExchange.reply(document, queryFailure: queryFailure, to: message, requestID: requestID) else {
            return .none
        }
        do {
            return .reply(try reply.encoded())
        } catch {
            return .close
        }
    }
}
