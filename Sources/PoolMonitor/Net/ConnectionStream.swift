import MongoTLS
#if canImport(Glibc)
import Glibc
#endif

/// A failure of a `ConnectionStream`: the socket's, or TLS's, naming the peer.
package enum StreamError: Error, Sendable, Equatable, CustomStringConvertible {
    case socket(SocketError)
    /// TLS refused the peer or failed; the peer is the server or client concerned.
    case tls(TLSError, peer: String)
    /// The peer closed the connection (EOF) in the middle of the TLS handshake.
    case closedDuringHandshake(peer: String)

    package var description: String {
        switch self {
        case .socket(let error): return error.description
        case .tls(let error, let peer): return "TLS with \(peer): \(error)"
        case .closedDuringHandshake(let peer):
            return "the TLS handshake with \(peer) failed: the peer closed the connection (is it a plaintext server, or overloaded?)"
        }
    }
}

/// The bytes of one connection, in plaintext or through TLS: the one place that knows how to
/// move bytes between a non-blocking socket and a `TLSSession`. The monitor's connections (on
/// the loop), the application's connections (a thread in `poll()`) and the simulator's
/// accepted connections all read and write through it, so TLS behaves the same in each.
///
/// It does not own the descriptor: its owner closes it. Not thread-safe (one owner thread).
///
/// With TLS, reads drain what the session already decrypted before touching the socket
/// (`hasBufferedInput` says when a reader must read again before waiting), and writes encrypt
/// everything at once, keeping the ciphertext the kernel did not take (`hasPendingOutput`).
package final class ConnectionStream {
    package let fd: Int32
    /// Who is at the other end, for error messages.
    package let peer: String
    package let tls: TLSSession?
    private var cipherOut: [UInt8] = []
    private var cipherOffset = 0

    package enum HandshakeProgress: Equatable {
        case complete
        /// Wait until the socket is readable, then advance again.
        case wantsRead
        /// Wait until the socket is writable, then advance again.
        case wantsWrite
    }

    package init(fd: Int32, peer: String, tls: TLSSession? = nil) {
        self.fd = fd
        self.peer = peer
        self.tls = tls
    }

    package var isHandshakeComplete: Bool { tls?.isHandshakeComplete ?? true }

    // MARK: - Handshake

    /// Advances the TLS handshake as far as the socket allows; `.complete` at once in plaintext.
    /// - Parameter scratch: where received bytes pass through on their way to the session.
    package func advanceHandshake(scratch: UnsafeMutableRawBufferPointer) throws(StreamError) -> HandshakeProgress {
        guard let tls, !tls.isHandshakeComplete else { return .complete }
        while true {
            let done: Bool
            do {
                done = try tls.handshake()
            } catch {
                // Send the alert OpenSSL queued, so the peer learns why; best effort.
                collectOutput()
                _ = try? flushPending()
                throw .tls(error, peer: peer)
            }
            collectOutput()
            let flushed = try flushPending()
            if done { return .complete }
            if !flushed { return .wantsWrite }
            switch try receiveRaw(into: scratch) {
            case .bytes(let count): tls.feed(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
            case .wouldBlock: return .wantsRead
            case .endOfStream: throw .closedDuringHandshake(peer: peer)
            }
        }
    }

    // MARK: - Writing

    /// Writes as much of `bytes` as can go now: in plaintext what the kernel takes (0 when it
    /// would block); through TLS all of it, encrypted, the rest of the ciphertext kept for
    /// `flushPending`.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(StreamError) -> Int {
        guard !bytes.isEmpty else { return 0 }
        guard let tls else { return try sendRaw(bytes) }
        do {
            try tls.write(bytes)
        } catch {
            throw .tls(error, peer: peer)
        }
        collectOutput()
        _ = try flushPending()
        return bytes.count
    }

    /// Writes as much of `bytes[offset...]` as can go now (as `write(_:)`).
    package func write(_ bytes: [UInt8], from offset: Int) throws(StreamError) -> Int {
        guard offset < bytes.count else { return 0 }
        return try bytes.withUnsafeBytes { raw in
            Result { () throws(StreamError) in try write(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
        }.get()
    }

    /// Whether ciphertext waits for the socket to become writable.
    package var hasPendingOutput: Bool { cipherOffset < cipherOut.count }

    /// Sends kept ciphertext. - Returns: true when nothing is left.
    @discardableResult
    package func flushPending() throws(StreamError) -> Bool {
        while cipherOffset < cipherOut.count {
            let offset = cipherOffset
            let sent = try cipherOut.withUnsafeBytes { raw in
                Result { () throws(StreamError) in try sendRaw(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }.get()
            if sent == 0 { return false }
            cipherOffset += sent
        }
        cipherOut.removeAll(keepingCapacity: cipherOut.capacity <= 1 << 16)
        cipherOffset = 0
        return true
    }

    private func collectOutput() {
        guard let tls, tls.hasOutput else { return }
        if cipherOffset == cipherOut.count {
            cipherOut.removeAll(keepingCapacity: true)
            cipherOffset = 0
        }
        tls.drainOutput(into: &cipherOut)
    }

    // MARK: - Reading

    /// Reads what is available into `buffer`: plaintext, decrypted when TLS is on.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(StreamError) -> NonBlockingSocket.ReadResult {
        guard let tls else { return try receiveRaw(into: buffer) }
        while true {
            let result: TLSSession.ReadResult
            do {
                result = try tls.read(into: buffer)
            } catch {
                throw .tls(error, peer: peer)
            }
            switch result {
            case .bytes(let count):
                collectOutput()
                _ = try flushPending()
                return .bytes(count)
            case .closed:
                return .endOfStream
            case .needsInput:
                collectOutput()
                _ = try flushPending()
                switch try receiveRaw(into: buffer) {
                case .bytes(let count): tls.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                case .wouldBlock: return .wouldBlock
                case .endOfStream: return .endOfStream
                }
            }
        }
    }

    /// Reads into an array buffer (as `read(into:)` for a raw buffer).
    package func read(into buffer: inout [UInt8]) throws(StreamError) -> NonBlockingSocket.ReadResult {
        try buffer.withUnsafeMutableBytes { raw in
            Result { () throws(StreamError) in try read(into: raw) }
        }.get()
    }

    /// Advances the handshake with an array as the scratch buffer.
    package func advanceHandshake(scratch: inout [UInt8]) throws(StreamError) -> HandshakeProgress {
        try scratch.withUnsafeMutableBytes { raw in
            Result { () throws(StreamError) in try advanceHandshake(scratch: raw) }
        }.get()
    }

    /// Whether bytes already received wait inside the TLS session: read again before waiting
    /// for the socket, which will not signal them a second time.
    package var hasBufferedInput: Bool { tls?.hasBufferedInput ?? false }

    // MARK: - Closing

    /// Queues TLS's close_notify and sends it if the socket takes it now (best effort: the
    /// owner closes the descriptor next).
    package func shutdown() {
        guard let tls else { return }
        tls.shutdown()
        collectOutput()
        _ = try? flushPending()
    }

    // MARK: - The socket

    private func sendRaw(_ bytes: UnsafeRawBufferPointer) throws(StreamError) -> Int {
        do {
            return try NonBlockingSocket.send(fd, bytes, peer: peer)
        } catch {
            throw .socket(error)
        }
    }

    private func receiveRaw(into buffer: UnsafeMutableRawBufferPointer) throws(StreamError) -> NonBlockingSocket.ReadResult {
        do {
            return try NonBlockingSocket.receive(fd, into: buffer, peer: peer)
        } catch {
            throw .socket(error)
        }
    }
}
