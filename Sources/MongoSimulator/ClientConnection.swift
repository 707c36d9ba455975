import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// One accepted client connection of a simulated server: reads frames, hands each message to
/// the server, and writes the replies without blocking.
///
/// Loop-confined. A malformed frame closes the connection (the byte stream can no longer be
/// trusted); so does a client that lets more than `maxPendingOutput` bytes of replies pile up.
///
/// Replies may be paced (one byte per timer tick, for a trickling server) and may end the
/// connection once written (a close or a reset): see `OutgoingReply`.
final class ClientConnection {
    /// What the server wants done about one message.
    enum Response {
        case reply(OutgoingReply)
        case none
        case close
    }

    let fd: Int32
    let connectionId: Int64
    /// The connection's bytes: plaintext, or through the server's TLS session.
    private var stream: ConnectionStream
    /// A TLS port that also takes plaintext (mongod's allowTLS/preferTLS): the first byte
    /// decides, a TLS ClientHello (0x16) or a plaintext message.
    private var tlsUndecided: Bool
    /// `client.application.name` of the connection's handshake, for fail points filtered by
    /// `appName`.
    var appName: String?
    private let loop: MonitorLoop
    private let readBuffer: ReadBuffer
    private var decoder = FrameDecoder()
    private var outbox: [UInt8] = []
    private var outboxOffset = 0
    private var watcher: IOWatcher?
    /// Bytes still to trickle out, one per `trickleInterval`, after the outbox.
    private var trickle: [UInt8] = []
    private var trickleOffset = 0
    private var trickleInterval = 0.1
    private var trickleTimer: TimerWatcher?
    /// What happens once everything queued is written; set by the first reply that ends the
    /// connection (later replies are dropped).
    private var ending: OutgoingReply.Ending = .keepOpen
    private var paused = false
    /// An awaitable hello is held (`HeldHello`): later requests wait in the decoder's buffer.
    private(set) var isHeld = false
    /// `processBuffered` is running: a release from inside it lets that loop go on rather than
    /// starting another.
    private var isProcessing = false
    private(set) var isClosed = false
    private var sawFirstBytes = false
    private let onMessage: (ClientConnection, WireMessage) -> Response
    private let onClose: (ClientConnection) -> Void

    static let maxPendingOutput = 16 << 20
    /// Reads per readiness event: fairness between connections (the watcher is level-triggered).
    private static let readsPerEvent = 4

    init(
        loop: MonitorLoop, fd: Int32, connectionId: Int64, readBuffer: ReadBuffer, tls: TLSSession? = nil,
        allowPlaintext: Bool = false,
        onMessage: @escaping (ClientConnection, WireMessage) -> Response,
        onClose: @escaping (ClientConnection) -> Void
    ) {
        self.loop = loop
        self.fd = fd
        self.connectionId = connectionId
        self.readBuffer = readBuffer
        stream = ConnectionStream(fd: fd, peer: "client connection \(connectionId)", tls: tls)
        tlsUndecided = tls != nil && allowPlaintext
        self.onMessage = onMessage
        self.onClose = onClose
        decoder.maxMessageSizeBytes = Int(CommandHandler.maxMessageSizeBytes)
        let watcher = IOWatcher(loop: loop, fd: fd, events: .read) { [unowned self] events in
            self.handle(events)
        }
        watcher.start()
        self.watcher = watcher
    }

    /// Stops reading and writing (a hung server); nothing is lost.
    func pause() {
        guard !isClosed else { return }
        paused = true
        watcher?.stop()
        trickleTimer?.stop()
    }

    /// Resumes after `pause()`, answering requests that arrived meanwhile.
    func resume() {
        guard !isClosed, paused else { return }
        paused = false
        watcher?.start()
        withExtendedLifetime(self) {
            if trickleOffset < trickle.count { trickleTimer?.start(after: trickleInterval) }
            processBuffered()
        }
    }

    /// Stops answering further requests until `release()`: an awaitable hello is waiting. The
    /// connection keeps reading, so that a client closing it is noticed.
    func hold() {
        isHeld = true
    }

    /// Answers the requests that arrived while held.
    func release() {
        guard isHeld else { return }
        isHeld = false
        guard !isClosed, !paused else { return }
        withExtendedLifetime(self) { processBuffered() }
    }

    /// Sends a reply the server produced outside `onMessage` (a held hello's).
    func deliver(_ reply: OutgoingReply) {
        guard !isClosed else { return }
        withExtendedLifetime(self) { send(reply) }
    }

    /// Closes the socket and tells the server. Idempotent.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        watcher?.stop()
        trickleTimer?.stop()
        _ = Glibc.close(fd)
        onClose(self)
    }

    /// Closes with a TCP reset rather than a FIN: SO_LINGER with a zero timeout makes close()
    /// abort the connection.
    private func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// The subject of the client's TLS certificate (RFC 2253), for MONGODB-X509; nil without
    /// TLS or without a certificate.
    var peerCertificateSubject: String? { stream.tls?.peerCertificateSubject }

    private func handle(_ events: IOWatcher.Events) {
        // The server may drop its last reference while this runs (close); keep self alive.
        withExtendedLifetime(self) {
            if tlsUndecided, !decideTLS() { return }
            if !stream.isHandshakeComplete {
                advanceHandshake()
                return
            }
            if events.contains(.write) { flush() }
            if events.contains(.read), !isClosed, !paused { readAvailable() }
        }
    }

    /// On a port that takes both: peeks at the first byte, and drops the TLS session unless it
    /// starts a ClientHello. False while there is nothing to read yet (or the connection closed).
    private func decideTLS() -> Bool {
        var first: UInt8 = 0
        let n = recv(fd, &first, 1, Int32(MSG_PEEK))
        if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return false }
        guard n == 1 else {
            close()
            return false
        }
        tlsUndecided = false
        if first != 0x16 { stream = ConnectionStream(fd: fd, peer: "client connection \(connectionId)", tls: nil) }
        return true
    }

    /// The server's side of the TLS handshake; a client that fails it (or speaks plaintext)
    /// is disconnected.
    private func advanceHandshake() {
        do {
            switch try stream.advanceHandshake(scratch: readBuffer.bytes) {
            case .wantsRead: watcher?.set(events: .read)
            case .wantsWrite: watcher?.set(events: [.read, .write])
            case .complete:
                watcher?.set(events: .read)
                if stream.hasBufferedInput { readAvailable() }
            }
        } catch {
            close()
        }
    }

    private func readAvailable() {
        for _ in 0..<Self.readsPerEvent {
            let result: NonBlockingSocket.ReadResult
            do {
                result = try stream.read(into: readBuffer.bytes)
            } catch {
                close()
                return
            }
            switch result {
            case .bytes(let n):
                if !sawFirstBytes {
                    sawFirstBytes = true
                    if stream.tls == nil, n >= 2, readBuffer.bytes[0] == 0x16, readBuffer.bytes[1] == 0x03 {
                        // A TLS ClientHello on a plaintext port: mongod hangs up on it at once
                        // (rather than wait for a 16 MB "message"), and so does the simulator.
                        close()
                        return
                    }
                }
                decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<n]))
                if isHeld, decoder.bufferedByteCount > Self.maxPendingOutput {
                    // A client piling requests behind a held hello: it cannot be served.
                    close()
                    return
                }
                processBuffered()
                if isClosed || paused || (n < readBuffer.bytes.count && !stream.hasBufferedInput) { return }
            case .endOfStream:
                close()
                return
            case .wouldBlock:
                if stream.hasPendingOutput { watcher?.set(events: [.read, .write]) }
                return
            }
        }
    }

    private func processBuffered() {
        guard !isProcessing else { return }
        isProcessing = true
        defer { isProcessing = false }
        while !isClosed, !paused, !isHeld {
            let message: WireMessage?
            do {
                message = try decoder.nextMessage()
            } catch {
                close()
                return
            }
            guard let message else { return }
            switch onMessage(self, message) {
            case .reply(let bytes): send(bytes)
            case .none: break
            case .close: close()
            }
        }
    }

    // MARK: - Writing

    private func send(_ reply: OutgoingReply) {
        guard ending == .keepOpen else { return }
        if reply.byteInterval != nil || trickleOffset < trickle.count {
            // Paced, or queued behind paced bytes: order is kept.
            if trickleOffset == trickle.count {
                trickle = reply.bytes
                trickleOffset = 0
            } else {
                trickle.append(contentsOf: reply.bytes)
            }
            if let interval = reply.byteInterval { trickleInterval = interval }
            ending = reply.ending
            guard trickle.count - trickleOffset <= Self.maxPendingOutput else {
                close()
                return
            }
            startTrickling()
            return
        }
        ending = reply.ending
        enqueue(reply.bytes)
    }

    private func enqueue(_ bytes: some Collection<UInt8>) {
        if outboxOffset == outbox.count {
            outbox = Array(bytes)
            outboxOffset = 0
        } else {
            outbox.append(contentsOf: bytes)
        }
        guard outbox.count - outboxOffset <= Self.maxPendingOutput else {
            close()
            return
        }
        flush()
    }

    private func startTrickling() {
        guard !paused, trickleTimer?.isActive != true else { return }
        let timer = trickleTimer ?? TimerWatcher(loop: loop) { [unowned self] in
            withExtendedLifetime(self) { self.trickleOneByte() }
        }
        trickleTimer = timer
        timer.start(after: trickleInterval)
    }

    private func trickleOneByte() {
        guard !isClosed, !paused, trickleOffset < trickle.count else { return }
        let byte = trickle[trickleOffset]
        trickleOffset += 1
        if trickleOffset == trickle.count {
            trickle.removeAll()
            trickleOffset = 0
        } else {
            trickleTimer?.start(after: trickleInterval)
        }
        enqueue(CollectionOfOne(byte))
    }

    private func flush() {
        do {
            while outboxOffset < outbox.count {
                let n = try stream.write(outbox, from: outboxOffset)
                if n == 0 { break }
                outboxOffset += n
            }
            try stream.flushPending()
        } catch {
            close()
            return
        }
        if stream.hasPendingOutput {
            watcher?.set(events: [.read, .write])
            return
        }
        if outboxOffset == outbox.count {
            outbox.removeAll(keepingCapacity: outbox.capacity <= 1 << 16)
            outboxOffset = 0
            watcher?.set(events: .read)
            if trickleOffset == trickle.count { finishIfEnding() }
        } else {
            watcher?.set(events: [.read, .write])
        }
    }

    /// Everything queued is written: carry out a reply's ending.
    private func finishIfEnding() {
        switch ending {
        case .keepOpen: break
        case .close: close()
        case .reset: reset()
        }
    }
}

/// The one read buffer the connections of a simulator share: all run on one thread, and each
/// read is consumed before the next, so 1,000 servers need 64 KiB, not 64 MiB.
final class ReadBuffer {
    let bytes: UnsafeMutableRawBufferPointer

    init(size: Int = 64 * 1024) {
        bytes = .allocate(byteCount: size, alignment: 8)
    }

    deinit { bytes.deallocate() }
}
