import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking MongoDB server on 127.0.0.1 for tests: a thread accepts connections and one
/// thread per connection answers every request with `reply(request)`. It counts hellos, can drop
/// every connection, and `stop()` closes everything and joins its threads.
public final class FakeMongoServer: Sendable {
    public let port: UInt16
    public var address: ServerAddress { ServerAddress(host: "127.0.0.1", port: port) }

    private let listenFD: Int32
    private let state = ConditionLock(State())
    private let respond: @Sendable (BSONDocument) -> BSONDocument?
    private let acceptThread = ConditionLock<Thread?>(nil)
    private let finished = DispatchGroup()

    private struct State {
        var connections: [Int32] = []
        var hellos = 0
        var stopped = false
    }

    /// - Parameter respond: the reply document for a request document; nil closes the connection.
    public init(respond: @escaping @Sendable (BSONDocument) -> BSONDocument?) throws {
        let listener = try LoopbackListener()
        listenFD = dup(listener.fd)
        port = listener.port
        listener.close()
        self.respond = respond
        finished.enter()
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    /// A standalone's hello reply.
    public static func standaloneHello(maxWireVersion: Int32 = 21) -> BSONDocument {
        ["isWritablePrimary": .bool(true), "helloOk": .bool(true), "maxWireVersion": .int32(maxWireVersion),
         "minWireVersion": .int32(0), "ok": .double(1)]
    }

    public var helloCount: Int { state.withLock { $0.hellos } }

    /// Closes every open connection (the listener stays).
    /// The shutdown happens under the lock that also guards each connection's close, so a
    /// descriptor number already closed (and perhaps reused by another test's socket) is never
    /// shut down.
    public func dropConnections() {
        state.withLock { s in
            for fd in s.connections { shutdown(fd, Int32(SHUT_RDWR)) }
            s.connections.removeAll()
        }
    }

    public func stop() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        guard first else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        dropConnections()
        finished.wait()
        close(listenFD)
    }

    private func acceptLoop() {
        defer { finished.leave() }
        while true {
            let fd = accept(listenFD, nil, nil)
            if fd < 0 { return }
            let keep = state.withLock { s -> Bool in
                guard !s.stopped else { return false }
                s.connections.append(fd)
                return true
            }
            guard keep else { close(fd); return }
            finished.enter()
            Thread { [self] in
                serve(fd)
                state.withLock { s in
                    s.connections.removeAll { $0 == fd }
                    close(fd)
                }
                finished.leave()
            }.start()
        }
    }

    private func serve(_ fd: Int32) {
        var decoder = FrameDecoder()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            decoder.append(buffer[0..<n])
            while let message = try? decoder.nextMessage() {
                let requestBytes: [UInt8]
                switch message.payload {
                case .msg(let msg): requestBytes = msg.body
                case .query(let query): requestBytes = query.query
                case .reply: return
                }
                guard let request = try? BSONDocument(bytes: requestBytes) else { return }
                let name = request.keys.first?.lowercased() ?? ""
                if name == "hello" || name == "ismaster" { state.withLock { $0.hellos += 1 } }
                guard let reply = respond(request) else { return }
                let payload: WireMessage.Payload
                if case .query = message.payload {
                    payload = .reply(OpReply(documents: [reply.encoded()]))
                } else {
                    payload = .msg(OpMsg(body: reply.encoded()))
                }
                let response = WireMessage(requestID: message.requestID &+ 1_000_000, responseTo: message.requestID, payload: payload)
                guard let bytes = try? response.encoded() else { return }
                var sent = 0
                while sent < bytes.count {
                    let w = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    if w <= 0 { return }
                    sent += w
                }
            }
        }
    }
}
