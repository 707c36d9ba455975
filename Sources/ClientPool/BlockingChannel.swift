import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// Blocking, deadline-bounded I/O over a `NonBlockingSocket`, for application threads: each
/// wait is a `poll()` bounded by the monotonic deadline, so a silent server costs at most the
/// configured timeout and never blocks anything but the calling thread.
struct BlockingChannel {
    let stream: ConnectionStream
    let server: ServerAddress
    let phase: ApplicationError.Phase

    // MARK: - Connecting

    /// Connects to one resolved address within `deadline` (nil = no limit).
    static func connect(
        to address: ResolvedAddress,
        server: ServerAddress,
        deadline: UInt64?
    ) throws(ConnectionError) -> NonBlockingSocket {
        let socket: NonBlockingSocket
        let connected: Bool
        do {
            (socket, connected) = try NonBlockingSocket.connect(to: address)
        } catch {
            throw ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: error.description)
        }
        if connected { return socket }
        let channel = BlockingChannel(stream: ConnectionStream(fd: socket.fd, peer: server.description), server: server, phase: .beforeHandshakeCompletes)
        do {
            try channel.wait(for: Int16(POLLOUT), until: deadline, doing: "connecting to \(address)")
            try socket.finishConnect()
        } catch let error as ConnectionError {
            socket.close()
            throw error
        } catch let error as SocketError {
            socket.close()
            throw ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: error.description)
        } catch {
            socket.close()
            throw ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: "\(error)")
        }
        return socket
    }

    // MARK: - Messages

    /// Sends `message` and reads its reply, both within `deadline`.
    /// - Parameter maxMessageSizeBytes: the largest reply accepted (the handshake's value).
    func roundTrip(
        _ message: WireMessage,
        deadline: UInt64?,
        maxMessageSizeBytes: Int,
        doing activity: String
    ) throws(ConnectionError) -> WireMessage {
        let bytes = try ConnectionError.encoded(message, maxMessageSizeBytes: maxMessageSizeBytes, server: server, phase: phase)
        try send(bytes, until: deadline, doing: activity)
        return try receive(responseTo: message.requestID, maxMessageSizeBytes: maxMessageSizeBytes, until: deadline, doing: activity)
    }

    /// Sends `command` to `database` over OP_MSG and returns its reply document, whatever its
    /// `ok`, within `deadline`.
    func command(
        _ command: BSONDocument, database: String, requestID: Int32, deadline: UInt64?, doing activity: String
    ) throws(ConnectionError) -> BSONDocument {
        let message = Handshake.commandMessage(requestID: requestID, command: command, database: database)
        let reply = try roundTrip(message, deadline: deadline, maxMessageSizeBytes: FrameDecoder.defaultMaxMessageSizeBytes, doing: activity)
        return try ConnectionError.document(of: reply, from: server, phase: phase)
    }

    /// Runs the TLS handshake (nothing in plaintext) within `deadline`.
    func handshakeTLS(until deadline: UInt64?) throws(ConnectionError) {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let progress: ConnectionStream.HandshakeProgress
            do {
                progress = try stream.advanceHandshake(scratch: &scratch)
            } catch {
                throw connectionError(error, doing: "the TLS handshake")
            }
            switch progress {
            case .complete: return
            case .wantsRead: try wait(for: Int16(POLLIN), until: deadline, doing: "the TLS handshake")
            case .wantsWrite: try wait(for: Int16(POLLOUT), until: deadline, doing: "the TLS handshake")
            }
        }
    }

    private func send(_ bytes: [UInt8], until deadline: UInt64?, doing activity: String) throws(ConnectionError) {
        var offset = 0
        while true {
            do {
                offset += try stream.write(bytes, from: offset)
                let drained = try stream.flushPending()
                if offset == bytes.count, drained { return }
            } catch {
                throw connectionError(error, doing: activity)
            }
            try wait(for: Int16(POLLOUT), until: deadline, doing: activity)
        }
    }

    private func receive(
        responseTo requestID: Int32,
        maxMessageSizeBytes: Int,
        until deadline: UInt64?,
        doing activity: String
    ) throws(ConnectionError) -> WireMessage {
        var decoder = FrameDecoder(maxMessageSizeBytes: maxMessageSizeBytes, expectedResponseTo: requestID, server: server.description)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            do {
                if let message = try decoder.nextMessage() { return message }
            } catch {
                throw ConnectionError(kind: .invalidReply, server: server, phase: phase, reason: error.description)
            }
            let result: NonBlockingSocket.ReadResult
            do {
                result = try stream.read(into: &buffer)
            } catch {
                throw connectionError(error, doing: activity)
            }
            switch result {
            case .bytes(let count):
                decoder.append(buffer[0..<count])
            case .wouldBlock:
                // Kept ciphertext (a TLS reply to the peer) goes out while we wait.
                let events = stream.hasPendingOutput ? Int16(POLLIN | POLLOUT) : Int16(POLLIN)
                try wait(for: events, until: deadline, doing: activity)
                do {
                    try stream.flushPending()
                } catch {
                    throw connectionError(error, doing: activity)
                }
            case .endOfStream:
                throw ConnectionError(
                    kind: .network, server: server, phase: phase,
                    reason: "\(activity): the server closed the connection before replying"
                )
            }
        }
    }

    /// A stream failure as a connection error: TLS's own failures keep their kind (not
    /// backpressure); socket errors and EOF are network errors.
    private func connectionError(_ error: StreamError, doing activity: String) -> ConnectionError {
        switch error {
        case .tls(let failure, _):
            return ConnectionError(kind: .tls(failure.kind), server: server, phase: phase, reason: "\(activity): \(error)")
        case .socket, .closedDuringHandshake:
            return ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): \(error)")
        }
    }

    // MARK: - Waiting

    /// Polls for `events` until `deadline`.
    /// - Throws: a timeout `ConnectionError` when the deadline passes first.
    func wait(for events: Int16, until deadline: UInt64?, doing activity: String) throws(ConnectionError) {
        while true {
            var timeoutMS: Int32 = -1
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                guard now < deadline else {
                    throw ConnectionError(kind: .timeout, server: server, phase: phase, reason: "\(activity): timed out")
                }
                timeoutMS = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var descriptor = pollfd(fd: stream.fd, events: events, revents: 0)
            let rc = poll(&descriptor, 1, timeoutMS)
            if rc > 0 { return }
            if rc < 0 {
                let err = errno
                if err == EINTR { continue }
                throw ConnectionError(
                    kind: .network, server: server, phase: phase,
                    reason: "\(activity): \(SocketError(operation: "poll", errno: err))"
                )
            }
        }
    }

    /// The monotonic deadline `timeout` from now; nil for nil (no limit).
    static func deadline(after timeout: Duration?) -> UInt64? {
        guard let timeout else { return nil }
        return MonotonicClock.nanoseconds() + UInt64(max(0, timeout.inMilliseconds)) * 1_000_000
    }
}
