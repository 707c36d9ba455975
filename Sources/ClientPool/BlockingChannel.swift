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
    let socket: NonBlockingSocket
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
        let channel = BlockingChannel(socket: socket, server: server, phase: .beforeHandshakeCompletes)
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
        try send(bytes, until: deadline, doing: activity)
        return try receive(responseTo: message.requestID, maxMessageSizeBytes: maxMessageSizeBytes, until: deadline, doing: activity)
    }

    private func send(_ bytes: [UInt8], until deadline: UInt64?, doing activity: String) throws(ConnectionError) {
        var offset = 0
        while offset < bytes.count {
            let written: Int
            do {
                written = try socket.write(bytes, from: offset)
            } catch {
                throw ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): \(error)")
            }
            offset += written
            if written == 0 { try wait(for: Int16(POLLOUT), until: deadline, doing: activity) }
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
            try wait(for: Int16(POLLIN), until: deadline, doing: activity)
            let result: NonBlockingSocket.ReadResult
            do {
                result = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in try socket.read(into: raw) }
            } catch {
                throw ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): \(error)")
            }
            switch result {
            case .bytes(let count):
                decoder.append(buffer[0..<count])
            case .wouldBlock:
                continue
            case .endOfStream:
                throw ConnectionError(
                    kind: .network, server: server, phase: phase,
                    reason: "\(activity): the server closed the connection before replying"
                )
            }
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
            var descriptor = pollfd(fd: socket.fd, events: events, revents: 0)
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
