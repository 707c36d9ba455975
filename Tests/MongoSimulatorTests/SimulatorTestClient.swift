import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// Why the test client failed.
struct TestClientError: Error, CustomStringConvertible {
    var description: String
}

/// A minimal blocking client for the simulator tests: one plain socket to 127.0.0.1, OP_MSG and
/// OP_QUERY out, frames in through `FrameDecoder`, every wait bounded by `timeout`.
final class SimulatorTestClient {
    private(set) var fd: Int32
    private var decoder = FrameDecoder()
    private var nextRequestID: Int32 = 1
    /// The bound of every wait for a reply, in seconds.
    var timeout: Double

    /// Connects (blocking) to "127.0.0.1:port".
    init(_ address: String, timeout: Double = 5) throws {
        guard let colon = address.lastIndex(of: ":"),
              let port = UInt16(address[address.index(after: colon)...]),
              let socketAddress = ResolvedAddress(ipLiteral: String(address[..<colon]), port: port) else {
            throw TestClientError(description: "bad address \(address)")
        }
        self.timeout = timeout
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError(description: "socket: errno \(errno)") }
        let rc = socketAddress.withSockAddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let err = errno
            close()
            throw TestClientError(description: "connect to \(address): errno \(err)")
        }
    }

    deinit { close() }

    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    /// Runs a command over OP_MSG and returns the reply's body.
    func command(_ command: BSONDocument, database: String = "admin") throws -> BSONDocument {
        var body = command
        body["$db"] = .string(database)
        let reply = try roundTrip(.msg(OpMsg(body: body.encoded())))
        guard let msg = reply.opMsg else { throw TestClientError(description: "expected OP_MSG, got \(reply.opCode)") }
        return try BSONDocument(bytes: msg.body)
    }

    /// Sends `command` as a legacy OP_QUERY on "<database>.$cmd" and returns the OP_REPLY.
    func legacyCommand(_ command: BSONDocument, namespace: String = "admin.$cmd") throws -> OpReply {
        let reply = try roundTrip(.query(OpQuery(flags: [.secondaryOk], fullCollectionName: namespace, query: command.encoded())))
        guard let opReply = reply.opReply else { throw TestClientError(description: "expected OP_REPLY, got \(reply.opCode)") }
        return opReply
    }

    /// Sends one message and waits for the reply to it.
    func roundTrip(_ payload: WireMessage.Payload) throws -> WireMessage {
        let requestID = try send(payload)
        decoder.expectedResponseTo = requestID
        return try receive()
    }

    /// Sends an awaitable hello (streaming protocol) without waiting; returns its requestID,
    /// which the first reply answers.
    func sendAwaitableHello(
        _ topologyVersion: BSONDocument, maxAwaitTimeMS: Int64, exhaust: Bool = false
    ) throws -> Int32 {
        let body: BSONDocument = [
            "hello": .int32(1), "topologyVersion": .document(topologyVersion),
            "maxAwaitTimeMS": .int64(maxAwaitTimeMS), "$db": .string("admin"),
        ]
        return try send(.msg(OpMsg(flags: exhaust ? .exhaustAllowed : [], body: body.encoded())))
    }

    /// The next message, which must answer `requestID` (an exhaust stream's replies answer
    /// the previous reply).
    func receive(respondingTo requestID: Int32) throws -> WireMessage {
        decoder.expectedResponseTo = requestID
        return try receive()
    }

    /// Sends one message; returns its requestID.
    @discardableResult
    func send(_ payload: WireMessage.Payload) throws -> Int32 {
        let requestID = nextRequestID
        nextRequestID += 1
        try sendRaw(WireMessage(requestID: requestID, payload: payload).encoded())
        return requestID
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestClientError(description: "send: errno \(errno)") }
            offset += n
        }
    }

    /// The next message, within `timeout`.
    func receive() throws -> WireMessage {
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let message = try decoder.nextMessage() { return message }
            guard try waitReadable(until: deadline) else { throw TestClientError(description: "timed out waiting for a reply") }
            let n = recv(fd, &buffer, buffer.count, 0)
            guard n > 0 else { throw TestClientError(description: n == 0 ? "connection closed by the server" : "recv: errno \(errno)") }
            decoder.append(buffer[0..<n])
        }
    }

    /// How a raw read ended.
    enum StreamEnd: Equatable {
        /// The time ran out (or enough bytes came) with the connection open.
        case open
        /// An orderly close (EOF).
        case closed
        /// A TCP reset (ECONNRESET).
        case reset
    }

    /// Sends a hello over OP_MSG without reading the reply; returns its requestID.
    func sendHello() throws -> Int32 {
        try send(.msg(OpMsg(body: bson(["hello": .int32(1), "$db": .string("admin")]).encoded())))
    }

    /// The raw bytes that arrive within `seconds` (stopping early once `limit` bytes came, or
    /// the connection ends), bypassing the frame decoder.
    func readRaw(for seconds: Double, limit: Int = .max) -> (bytes: [UInt8], end: StreamEnd) {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit, (try? waitReadable(until: deadline)) == true {
            let n = recv(fd, &buffer, min(buffer.count, limit - bytes.count), 0)
            if n > 0 {
                bytes.append(contentsOf: buffer[0..<n])
            } else if n == 0 {
                return (bytes, .closed)
            } else if errno == ECONNRESET {
                return (bytes, .reset)
            } else if errno != EINTR {
                return (bytes, .closed)
            }
        }
        return (bytes, .open)
    }

    /// Whether the server closes the connection within `seconds` (reading and dropping bytes).
    func isClosedByServer(within seconds: Double) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while (try? waitReadable(until: deadline)) == true {
            if recv(fd, &buffer, buffer.count, 0) <= 0 { return true }
        }
        return false
    }

    /// Whether nothing arrives for `seconds`: the server stays silent.
    func staysSilent(for seconds: Double) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        return (try? waitReadable(until: deadline)) == false
    }

    private func waitReadable(until deadline: UInt64) throws -> Bool {
        while true {
            let now = MonotonicClock.nanoseconds()
            guard now < deadline else { return false }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&pfd, 1, Int32(min(1_000, (deadline - now) / 1_000_000 + 1)))
            if rc > 0 { return true }
            if rc < 0, errno != EINTR { throw TestClientError(description: "poll: errno \(errno)") }
        }
    }
}

extension MongoSimulator {
    /// One hello over a fresh connection.
    func hello(_ address: String, _ extra: BSONDocument = [:]) throws -> BSONDocument {
        let client = try SimulatorTestClient(address)
        var command: BSONDocument = ["hello": .int32(1)]
        for element in extra.elements { command.append(element.key, element.value) }
        return try client.command(command)
    }
}

/// Whether `condition` becomes true within `seconds`, checking every 2 ms: for state the loop
/// thread changes on its own schedule (an accept, a timed election).
func eventually(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    while true {
        if try condition() { return true }
        if MonotonicClock.nanoseconds() >= deadline { return false }
        usleep(2_000)
    }
}

/// A document from a literal, where an initializer call would be ambiguous.
func bson(_ document: BSONDocument) -> BSONDocument { document }
