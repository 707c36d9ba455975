import MongoBSON
import SDAMCore
import MongoWire

/// One monitoring connection on the loop: a non-blocking socket, its read/write watcher, the
/// bytes not yet written and the frame decoder for replies.
///
/// Loop-confined. It reports to its owner through closures; it never blocks. Closing stops the
/// watcher and closes the socket in the same loop turn.
/// Opens a monitoring connection: the loop, the server, the resolved address, the shared read
/// buffer and the event handler. The seam where a test's or a TLS connection slots in.
typealias MonitorConnectionFactory = (
    MonitorLoop, ServerAddress, ResolvedAddress, ReadScratch, @escaping (MonitorConnection.Event) -> Void
) throws(SocketError) -> MonitorConnection

final class MonitorConnection {
    enum Event {
        /// The non-blocking connect completed.
        case connected
        /// A whole reply arrived.
        case message(WireMessage)
        /// The peer closed the connection (EOF or reset).
        case closedByPeer(String)
        /// A socket or protocol failure; the text names the server and what went wrong.
        case failed(String)
    }

    let server: ServerAddress
    private let socket: NonBlockingSocket
    private let loop: MonitorLoop
    /// Created (and started) in init, once `self` exists for its callback to reach.
    private lazy var watcher = IOWatcher(loop: loop, fd: socket.fd, events: isConnected ? .read : .write) { [unowned self] events in
        self.handle(events)
    }
    private var decoder: FrameDecoder
    private var pendingWrite: [UInt8] = []
    private var pendingOffset = 0
    private(set) var isConnected = false
    private(set) var isClosed = false
    private let scratch: ReadScratch
    private let onEvent: (Event) -> Void

    /// Starts a non-blocking connect to `address`. When the connect completes at once
    /// (`isConnected` is true after init) no `.connected` event follows: the owner proceeds.
    /// - Throws: `SocketError` when the connect fails at once (refused on loopback, no route).
    init(loop: MonitorLoop, server: ServerAddress, address: ResolvedAddress, scratch: ReadScratch, onEvent: @escaping (Event) -> Void) throws(SocketError) {
        self.server = server
        self.scratch = scratch
        self.onEvent = onEvent
        decoder = FrameDecoder(server: server.description)
        self.loop = loop
        let (socket, connected) = try NonBlockingSocket.connect(to: address)
        self.socket = socket
        isConnected = connected
        watcher.start()
    }

    /// Sends a message; what the kernel does not take now is written when the socket is writable.
    func send(_ message: WireMessage) {
        guard !isClosed else { return }
        do {
            let bytes = try message.encoded()
            decoder.expectedResponseTo = message.requestID
            if pendingOffset < pendingWrite.count {
                pendingWrite.append(contentsOf: bytes)
            } else {
                pendingWrite = bytes
                pendingOffset = 0
            }
            flush()
        } catch {
            fail("cannot encode request for \(server): \(error)")
        }
    }

    /// Replies after the first of a `moreToCome` stream answer the previous reply.
    func expectResponse(to requestID: Int32) {
        decoder.expectedResponseTo = requestID
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        watcher.stop()
        socket.close()
    }

    private func flush() {
        while pendingOffset < pendingWrite.count {
            let written: Int
            do {
                written = try socket.write(pendingWrite, from: pendingOffset)
            } catch {
                fail(error.description)
                return
            }
            if written == 0 { break }
            pendingOffset += written
        }
        watcher.set(events: pendingOffset < pendingWrite.count ? [.read, .write] : .read)
    }

    private func handle(_ events: IOWatcher.Events) {
        guard !isClosed else { return }
        if !isConnected {
            guard events.contains(.write) else { return }
            do {
                try socket.finishConnect()
            } catch {
                fail(error.description)
                return
            }
            isConnected = true
            watcher.set(events: .read)
            onEvent(.connected)
            return
        }
        if events.contains(.write) { flush() }
        if !isClosed, events.contains(.read) { readAvailable() }
    }

    private func readAvailable() {
        while !isClosed {
            let result: NonBlockingSocket.ReadResult
            do {
                result = try scratch.buffer.withUnsafeMutableBytes { try socket.read(into: $0) }
            } catch {
                closedByPeer("\(error)")
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .endOfStream:
                closedByPeer("\(server) closed the connection")
                return
            case .bytes(let count):
                decoder.append(scratch.buffer[0..<count])
                deliverMessages()
                if count < scratch.buffer.count { return }
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
final class ReadScratch {
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
}
