import MongoBSON
import SDAMCore
import MongoWire
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
    private let onMessage: (ClientConnection, WireMessage) -> Response
    private let onClose: (ClientConnection) -> Void

    static let maxPendingOutput = 16 << 20
    /// Reads per readiness event: fairness between connections (the watcher is level-triggered).
    private static let readsPerEvent = 4

    init(
        loop: MonitorLoop, fd: Int32, connectionId: Int64, readBuffer: ReadBuffer,
        onMessage: @escaping (ClientConnection, WireMessage) -> Response,
        onClose: @escaping (ClientConnection) -> Void
    ) {
        self.loop = loop
        self.fd = fd
        self.connectionId = connectionId
        self.readBuffer = readBuffer
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

    private func handle(_ events: IOWatcher.Events) {
        // The server may drop its last reference while this runs (close); keep self alive.
        withExtendedLifetime(self) {
            if events.contains(.write) { flush() }
            if events.contains(.read), !isClosed, !paused { readAvailable() }
        }
    }

    private func readAvailable() {
        for _ in 0..<Self.readsPerEvent {
            let n = recv(fd, readBuffer.bytes.baseAddress, readBuffer.bytes.count, 0)
            if n > 0 {
                decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer.bytes[0..<n]))
                if isHeld, decoder.bufferedByteCount > Self.maxPendingOutput {
                    // A client piling requests behind a held hello: it cannot be served.
                    close()
                    return
                }
                processBuffered()
                if isClosed || paused || n < readBuffer.bytes.count { return }
            } else if n == 0 {
                close()
                return
            } else {
                let err = errno
                if err == EINTR { continue }
                if err != EAGAIN && err != EWOULDBLOCK { close() }
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
        while outboxOffset < outbox.count {
            let n = outbox.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + outboxOffset, raw.count - outboxOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 {
                outboxOffset += n
                continue
            }
            let err = errno
            if n < 0, err == EINTR { continue }
            if n < 0, err == EAGAIN || err == EWOULDBLOCK { break }
            close()
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
