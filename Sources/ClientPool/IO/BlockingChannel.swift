import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// Blocking, deadline-bounded I/O over a connection's stream, for application threads: it
/// drives the shared `ConnectionSteps` and waits between them in a `poll()` bounded by the
/// monotonic deadline, so a silent server costs at most the configured timeout and never
/// blocks anything but the calling thread. (`LoopChannel` drives the same steps for tasks.)
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
        let (socket, mustWait) = try ConnectionSteps.startConnect(to: address, server: server)
        guard mustWait else { return socket }
        let channel = BlockingChannel(stream: ConnectionStream(fd: socket.fd, peer: server.description), server: server, phase: .beforeHandshakeCompletes)
        do {
            try channel.wait(for: .write, until: deadline, doing: "connecting to \(address)")
        } catch {
            socket.close()
            throw error
        }
        try ConnectionSteps.finishConnect(socket, server: server)
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
        var steps = try RoundTripSteps(message, maxMessageSizeBytes: maxMessageSizeBytes, server: server, phase: phase, doing: activity)
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            switch try steps.advance(stream, buffer: &buffer) {
            case .done(let reply): return reply
            case .wait(let events): try wait(for: events, until: deadline, doing: activity)
            }
        }
    }

    /// Runs the TLS handshake (nothing in plaintext) within `deadline`.
    func handshakeTLS(until deadline: UInt64?) throws(ConnectionError) {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while case .wait(let events) = try ConnectionSteps.advanceTLS(stream, server: server, scratch: &scratch) {
            try wait(for: events, until: deadline, doing: "the TLS handshake")
        }
    }

    // MARK: - Waiting

    /// Polls for `events` until `deadline`.
    /// - Throws: a timeout `ConnectionError` when the deadline passes first.
    func wait(for events: IOWatcher.Events, until deadline: UInt64?, doing activity: String) throws(ConnectionError) {
        var pollEvents: Int16 = 0
        if events.contains(.read) { pollEvents |= Int16(POLLIN) }
        if events.contains(.write) { pollEvents |= Int16(POLLOUT) }
        while true {
            var timeoutMS: Int32 = -1
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                guard now < deadline else { throw ConnectionSteps.timedOut(server: server, phase: phase, doing: activity) }
                timeoutMS = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var descriptor = pollfd(fd: stream.fd, events: pollEvents, revents: 0)
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
