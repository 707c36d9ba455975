import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Where a step of connection I/O stands: done with a result, or waiting until the socket is
/// ready for some events.
///
/// The steps below do every non-blocking read and write, and every encode, decode and check,
/// once, for both faces: `BlockingChannel` waits between steps in `poll()` on the caller's
/// thread, `LoopChannel` awaits the operations loop's readiness without holding a thread. Only
/// that wait differs (architecture rule 9).
enum IOProgress<Result> {
    case done(Result)
    case wait(IOWatcher.Events)
}

/// One command's round trip over a connection's stream: send the message (all of it, TLS's
/// ciphertext included), then read until a whole reply answering it has arrived.
struct RoundTripSteps {
    let server: ServerAddress
    let phase: ApplicationError.Phase
    let activity: String
    private let bytes: [UInt8]
    private var offset = 0
    private var sent = false
    private var decoder: FrameDecoder

    /// Encodes `message`.
    /// - Parameter maxMessageSizeBytes: the largest message sent and reply accepted (the
    ///   handshake's value).
    /// - Throws: `.invalidCommand` when it does not encode or is too large: nothing is sent.
    init(
        _ message: WireMessage, maxMessageSizeBytes: Int, server: ServerAddress, phase: ApplicationError.Phase, doing activity: String
    ) throws(ConnectionError) {
        self.server = server
        self.phase = phase
        self.activity = activity
        bytes = try ConnectionError.encoded(message, maxMessageSizeBytes: maxMessageSizeBytes, server: server, phase: phase)
        decoder = FrameDecoder(maxMessageSizeBytes: maxMessageSizeBytes, expectedResponseTo: message.requestID, server: server.description)
    }

    /// Moves the round trip on as far as the socket allows now.
    mutating func advance(_ stream: ConnectionStream, buffer: inout [UInt8]) throws(ConnectionError) -> IOProgress<WireMessage> {
        do {
            if !sent {
                offset += try stream.write(bytes, from: offset)
                let drained = try stream.flushPending()
                guard offset == bytes.count, drained else { return .wait(.write) }
                sent = true
            } else {
                // Kept ciphertext (a TLS reply to the peer) goes out while the reply is awaited.
                try stream.flushPending()
            }
        } catch {
            throw ConnectionSteps.connectionError(error, server: server, phase: phase, doing: activity)
        }
        while true {
            do {
                if let message = try decoder.nextMessage() { return .done(message) }
            } catch {
                throw ConnectionError(kind: .invalidReply, server: server, phase: phase, reason: error.description)
            }
            let result: NonBlockingSocket.ReadResult
            do {
                result = try stream.read(into: &buffer)
            } catch {
                throw ConnectionSteps.connectionError(error, server: server, phase: phase, doing: activity)
            }
            switch result {
            case .bytes(let count):
                decoder.append(buffer[0..<count])
            case .wouldBlock:
                return .wait(stream.hasPendingOutput ? [.read, .write] : .read)
            case .endOfStream:
                throw ConnectionError(
                    kind: .network, server: server, phase: phase,
                    reason: "\(activity): the server closed the connection before replying"
                )
            }
        }
    }
}

enum ConnectionSteps {
    /// Starts a non-blocking connect to one resolved address.
    /// - Returns: the socket, and whether it must wait for writability and `finishConnect`.
    static func startConnect(to address: ResolvedAddress, server: ServerAddress) throws(ConnectionError) -> (NonBlockingSocket, mustWait: Bool) {
        do {
            let (socket, connected) = try NonBlockingSocket.connect(to: address)
            return (socket, !connected)
        } catch {
            throw ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: error.description)
        }
    }

    /// After writability: whether the connect succeeded (the socket is closed when not).
    static func finishConnect(_ socket: NonBlockingSocket, server: ServerAddress) throws(ConnectionError) {
        do {
            try socket.finishConnect()
        } catch {
            socket.close()
            throw ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: error.description)
        }
    }

    /// Moves the TLS handshake on (done at once in plaintext).
    static func advanceTLS(_ stream: ConnectionStream, server: ServerAddress, scratch: inout [UInt8]) throws(ConnectionError) -> IOProgress<Void> {
        let progress: ConnectionStream.HandshakeProgress
        do {
            progress = try stream.advanceHandshake(scratch: &scratch)
        } catch {
            throw connectionError(error, server: server, phase: .beforeHandshakeCompletes, doing: "the TLS handshake")
        }
        switch progress {
        case .complete: return .done(())
        case .wantsRead: return .wait(.read)
        case .wantsWrite: return .wait(.write)
        }
    }

    /// A stream failure as a connection error: TLS's own failures keep their kind (not
    /// backpressure); socket errors and EOF are network errors.
    static func connectionError(_ error: StreamError, server: ServerAddress, phase: ApplicationError.Phase, doing activity: String) -> ConnectionError {
        switch error {
        case .tls(let failure, _):
            return ConnectionError(kind: .tls(failure.kind), server: server, phase: phase, reason: "\(activity): \(error)")
        case .socket, .closedDuringHandshake:
            return ConnectionError(kind: .network, server: server, phase: phase, reason: "\(activity): \(error)")
        }
    }

    /// The timeout error of a wait that passed its deadline.
    static func timedOut(server: ServerAddress, phase: ApplicationError.Phase, doing activity: String) -> ConnectionError {
        ConnectionError(kind: .timeout, server: server, phase: phase, reason: "\(activity): timed out")
    }

    /// The error of establishing a connection to every resolved address in turn: the only
    /// failure as it was, or all of them in one (a timeout if every one timed out).
    static func combined(_ failures: [ConnectionError], server: ServerAddress) -> ConnectionError {
        if failures.count == 1, let only = failures.first { return only }
        let allTimedOut = !failures.isEmpty && failures.allSatisfy { $0.kind == .timeout }
        return ConnectionError(
            kind: allTimedOut ? .timeout : .network,
            server: server,
            phase: .beforeHandshakeCompletes,
            reason: "every address failed: " + failures.map(\.reason).joined(separator: "; ")
        )
    }
}
