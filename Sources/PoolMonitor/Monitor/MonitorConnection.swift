import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS

/// Opens a monitoring connection: the loop, the server, the resolved address, the shared read
/// buffer and the event handler. The seam where a test's connection slots in.
typealias MonitorConnectionFactory = (
    MonitorLoop, ServerAddress, ResolvedAddress, ReadScratch, @escaping (MonitorConnection.Event) -> Void
) throws(StreamError) -> MonitorConnection

/// One monitoring connection on the loop: a non-blocking socket, its read/write watcher, the
/// TLS session when TLS is on, the bytes not yet written and the frame decoder for replies.
///
/// Loop-confined. It reports to its owner through closures; it never blocks: the TCP connect
/// and the TLS handshake both advance on socket readiness, switching the watcher between read
/// and write as they ask. `.connected` means "ready for the hello": TCP connected and, with
/// TLS, the handshake done (so the check's connect timeout covers the TLS handshake too).
/// Closing stops the watcher and closes the socket in the same loop turn.
final class MonitorConnection {
    enum Event {
        /// The connection is ready for the hello (TCP connected, TLS handshake complete).
        case connected
        /// A whole reply arrived.
        case message(WireMessage)
        /// The peer closed the connection (EOF or reset).
        case closedByPeer(String)
        /// A socket, TLS or protocol failure; the text names the server and what went wrong.
        case failed(String)
    }

    let server: ServerAddress
    private let socket: NonBlockingSocket
    private let stream: ConnectionStream
    private let loop: MonitorLoop
    /// Created (and started) in init, once `self` exists for its callback to reach.
    private lazy var watcher = IOWatcher(loop: loop, fd: socket.fd, events: isConnected ? .read : .write) { [unowned self] events in
        self.handle(events)
    }
    private var decoder: FrameDecoder
    private var pendingWrite: [UInt8] = []
    private var pendingOffset = 0
    private var isTCPConnected = false
    private(set) var isConnected = false
    private(set) var isClosed = false
    private let scratch: ReadScratch
    private let onEvent: (Event) -> Void

    /// Starts a non-blocking connect to `address`, and with `tls` the TLS handshake after it
    /// (SNI and certificate checks for `server.host`). When a plaintext connect completes at
    /// once (`isConnected` is true after init) no `.connected` event follows: the owner
    /// proceeds. A TLS handshake always starts in a later loop turn and ends in `.connected`.
    /// - Throws: `StreamError` when the connect fails at once (refused on loopback, no route)
    ///   or no TLS session can be made.
    init(
        loop: MonitorLoop, server: ServerAddress, address: ResolvedAddress, scratch: ReadScratch,
        tls: TLSContext? = nil, onEvent: @escaping (Event) -> Void
    ) throws(StreamError) {
        self.server = server
        self.scratch = scratch
        self.onEvent = onEvent
        decoder = FrameDecoder(server: server.description)
        self.loop = loop
        let session: TLSSession?
        do {
            session = try tls?.makeSession(serverName: server.host)
        } catch {
            throw .tls(error, peer: server.description)
        }
        let (socket, connected): (NonBlockingSocket, Bool)
        do {
            (socket, connected) = try NonBlockingSocket.connect(to: address)
        } catch {
            throw .socket(error)
        }
        DiscoveryTrace.mark("connection: connect called", server)
        self.socket = socket
        stream = ConnectionStream(fd: socket.fd, peer: server.description, tls: session)
        isTCPConnected = connected
        isConnected = connected && session == nil
        watcher.start()
    }

    /// Whether the loop handles this connection's events before those of connections to other
    /// servers that are ready in the same turn (`ServerMonitor`: a primary's).
    var handlesEventsFirst = false {
        didSet { if handlesEventsFirst != oldValue { watcher.set(priority: handlesEventsFirst ? 1 : 0) } }
    }

    /// The socket's descriptor (for the monitor's estimate of the descriptor table).
    var descriptor: Int32 { socket.fd }

    /// The factory of connections with `tls` (nil: plaintext).
    static func factory(tls: TLSContext?) -> MonitorConnectionFactory {
        { loop, server, address, scratch, onEvent throws(StreamError) in
            try MonitorConnection(loop: loop, server: server, address: address, scratch: scratch, tls: tls, onEvent: onEvent)
        }
    }

    /// Sends a message; what the kernel does not take now is written when the socket is writable.
    func send(_ message: WireMessage) {
        guard !isClosed else { return }
        do {
            send(try message.encoded(), requestID: message.requestID)
        } catch {
            fail("cannot encode request for \(server): \(error)")
        }
    }

    /// Sends a message already encoded (its reply answers `requestID`).
    func send(_ bytes: [UInt8], requestID: Int32) {
        guard !isClosed else { return }
        DiscoveryTrace.mark("connection: message encoded", server)
        decoder.expectedResponseTo = requestID
        if pendingOffset < pendingWrite.count {
            pendingWrite.append(contentsOf: bytes)
        } else {
            pendingWrite = bytes
            pendingOffset = 0
        }
        flush()
    }

    /// Replies after the first of a `moreToCome` stream answer the previous reply.
    func expectResponse(to requestID: Int32) {
        decoder.expectedResponseTo = requestID
    }

    /// Closes the connection (with TLS's close_notify when the socket takes it).
    func close() {
        guard !isClosed else { return }
        isClosed = true
        watcher.stop()
        if isConnected { stream.shutdown() }
        socket.close()
    }

    private func flush() {
        do {
            while pendingOffset < pendingWrite.count {
                let written = try stream.write(pendingWrite, from: pendingOffset)
                if written == 0 { break }
                pendingOffset += written
            }
            try stream.flushPending()
        } catch {
            fail(error.description)
            return
        }
        DiscoveryTrace.mark("connection: written", server)
        updateWatcher()
    }

    private func updateWatcher() {
        let writing = pendingOffset < pendingWrite.count || stream.hasPendingOutput
        watcher.set(events: writing ? [.read, .write] : .read)
    }

    private func handle(_ events: IOWatcher.Events) {
        guard !isClosed else { return }
        if !isTCPConnected {
            guard events.contains(.write) else { return }
            do {
                try socket.finishConnect()
            } catch {
                fail(error.description)
                return
            }
            isTCPConnected = true
            DiscoveryTrace.mark("connection: connected", server)
        }
        if !isConnected {
            advanceHandshake()
            return
        }
        if events.contains(.write) { flush() }
        if !isClosed, events.contains(.read) { readAvailable() }
    }

    /// Moves the TLS handshake on (or, in plaintext, reports the connect); a failure names
    /// the server and OpenSSL's reason.
    private func advanceHandshake() {
        let progress: ConnectionStream.HandshakeProgress
        do {
            progress = try stream.advanceHandshake(scratch: scratch.buffer)
        } catch {
            fail(error.description)
            return
        }
        switch progress {
        case .wantsRead:
            watcher.set(events: .read)
        case .wantsWrite:
            watcher.set(events: [.read, .write])
        case .complete:
            isConnected = true
            updateWatcher()
            onEvent(.connected)
        }
    }

    private func readAvailable() {
        while !isClosed {
            let result: NonBlockingSocket.ReadResult
            do {
                result = try stream.read(into: scratch.buffer)
            } catch {
                if case .tls = error { fail(error.description) } else { closedByPeer(error.description) }
                return
            }
            switch result {
            case .wouldBlock:
                if !isClosed { updateWatcher() }
                return
            case .endOfStream:
                closedByPeer("\(server) closed the connection")
                return
            case .bytes(let count):
                DiscoveryTrace.mark("connection: bytes read", server)
                decoder.append(UnsafeRawBufferPointer(rebasing: scratch.buffer[0..<count]))
                deliverMessages()
                if count < scratch.buffer.count, !stream.hasBufferedInput {
                    if !isClosed { updateWatcher() }
                    return
                }
            }
        }
    }

    private func deliverMessages() {
        while !isClosed {
            let message: WireMessage?
            do {
                message = try decoder.nextMessage()
            } catch {
                fail(error.description)
                return
            }
            guard let message else { return }
            DiscoveryTrace.mark("connection: frame decoded", server)
            onEvent(.message(message))
        }
    }

    private func closedByPeer(_ reason: String) {
        close()
        onEvent(.closedByPeer(reason))
    }

    private func fail(_ reason: String) {
        close()
        onEvent(.failed(reason))
    }

    deinit { close() }
}

/// The loop's one read buffer: every read happens on the loop thread and is consumed before the
/// next, so a thousand connections share 64 KiB instead of holding one buffer each.
///
/// Allocated, not zeroed: a read writes the bytes it returns and only those are read, so the
/// process touches only the pages its largest read needs. Zeroing it touched 16 fresh pages of
/// the new loop thread's heap before the first handshake went out (issue 17).
final class ReadScratch {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)

    deinit { buffer.deallocate() }
}
