import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Non-blocking I/O over a connection's stream for tasks: it drives the shared
/// `ConnectionSteps` (the same reads, writes and checks as `BlockingChannel`) on the task's own
/// cooperative thread, and where the socket would block it awaits the operations loop's
/// readiness, holding no thread (architecture: "the async face drives its connections from an
/// event loop").
///
/// Cancelling the task ends a wait at once with `CancellationError`, after the loop stopped
/// the wait's watcher; the caller then closes the connection (its stream is mid-message).
struct LoopChannel {
    let stream: ConnectionStream
    let server: ServerAddress
    let phase: ApplicationError.Phase
    let readiness: LoopReadiness

    /// Connects to one resolved address within `deadline` (nil = no limit).
    static func connect(
        to address: ResolvedAddress, server: ServerAddress, deadline: UInt64?, readiness: LoopReadiness
    ) async throws -> NonBlockingSocket {
        let (socket, mustWait) = try ConnectionSteps.startConnect(to: address, server: server)
        guard mustWait else { return socket }
        let channel = LoopChannel(stream: ConnectionStream(fd: socket.fd, peer: server.description), server: server,
                                  phase: .beforeHandshakeCompletes, readiness: readiness)
        do {
            try await channel.wait(for: .write, until: deadline, doing: "connecting to \(address)")
        } catch {
            socket.close()
            throw error
        }
        try ConnectionSteps.finishConnect(socket, server: server)
        return socket
    }

    /// Sends `message` and reads its reply, both within `deadline` (as `BlockingChannel`).
    func roundTrip(_ message: WireMessage, deadline: UInt64?, maxMessageSizeBytes: Int, doing activity: String) async throws -> WireMessage {
        var steps = try RoundTripSteps(message, maxMessageSizeBytes: maxMessageSizeBytes, server: server, phase: phase, doing: activity)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            switch try steps.advance(stream, buffer: &buffer) {
            case .done(let reply): return reply
            case .wait(let events): try await wait(for: events, until: deadline, doing: activity)
            }
        }
    }

    /// Runs the TLS handshake (nothing in plaintext) within `deadline`.
    func handshakeTLS(until deadline: UInt64?) async throws {
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)
        while case .wait(let events) = try ConnectionSteps.advanceTLS(stream, server: server, scratch: &scratch) {
            try await wait(for: events, until: deadline, doing: "the TLS handshake")
        }
    }

    /// Awaits readiness for `events` until `deadline`.
    /// - Throws: a timeout `ConnectionError`; a network one when the loop closed (the pool is
    ///   closing); `CancellationError`.
    func wait(for events: IOWatcher.Events, until deadline: UInt64?, doing activity: String) async throws {
        switch try await readiness.wait(fd: stream.fd, for: events, until: deadline) {
        case .ready:
            return
        case .timedOut:
            throw ConnectionSteps.timedOut(server: server, phase: phase, doing: activity)
        case .closed:
            throw ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): the pool's operations loop closed")
        }
    }
}
