import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// A failed socket operation: which one, the errno text, and (when known) the peer.
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32
    public var peer: String?

    public init(operation: String, errno: Int32, peer: String? = nil) {
        self.operation = operation
        self.errno = errno
        self.peer = peer
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        if let peer { return "\(operation) to \(peer) failed: \(reason) (errno \(errno))" }
        return "\(operation) failed: \(reason) (errno \(errno))"
    }
}

/// A non-blocking TCP socket: the monitor's sockets live on the loop and never block it.
///
/// Not thread-safe; owned by one thread (the loop, or one application thread). `close()` is
/// idempotent and deinit closes a socket left open.
package final class NonBlockingSocket {
    package private(set) var fd: Int32
    package let peer: ResolvedAddress

    /// The outcome of a read.
    package enum ReadResult: Equatable {
        case bytes(Int)
        case wouldBlock
        case endOfStream
    }

    /// Starts a non-blocking connect.
    /// - Returns: the socket, and whether the connection is already established (it usually
    ///   is not: wait for writability, then call `finishConnect()`).
    package static func connect(to address: ResolvedAddress) throws(SocketError) -> (NonBlockingSocket, connected: Bool) {
        let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno, peer: address.description) }
        let sock = NonBlockingSocket(fd: fd, peer: address)
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc == 0 { return (sock, true) }
        let err = errno
        guard err == EINPROGRESS else {
            sock.close()
            throw SocketError(operation: "connect", errno: err, peer: address.description)
        }
        // On loopback (and a host's own addresses) the kernel has usually finished the
        // handshake by the time connect returns EINPROGRESS. A zero-timeout poll tells, and
        // the caller writes now instead of a loop turn later, when the socket reports
        // writable (issue 17). A refusal seen here is left for that turn, which reports it.
        var ready = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        if poll(&ready, 1, 0) == 1, ready.revents == Int16(POLLOUT), (try? sock.finishConnect()) != nil {
            return (sock, true)
        }
        return (sock, false)
    }

    init(fd: Int32, peer: ResolvedAddress) {
        self.fd = fd
        self.peer = peer
    }

    /// After the socket became writable: whether the connect succeeded.
    package func finishConnect() throws(SocketError) {
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 else {
            throw SocketError(operation: "connect", errno: errno, peer: peer.description)
        }
        if err != 0 { throw SocketError(operation: "connect", errno: err, peer: peer.description) }
    }

    /// Writes as much of `bytes[offset...]` as the kernel takes now.
    /// - Returns: the number of bytes written (0 when it would block).
    package func write(_ bytes: [UInt8], from offset: Int) throws(SocketError) -> Int {
        guard offset < bytes.count else { return 0 }
        let fd = self.fd, peer = self.peer.description
        return try bytes.withUnsafeBytes { raw in
            Result { () throws(SocketError) in try Self.send(fd, UnsafeRawBufferPointer(rebasing: raw[offset...]), peer: peer) }
        }.get()
    }

    /// Reads what is available into `buffer`.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> ReadResult {
        try Self.receive(fd, into: buffer, peer: peer.description)
    }

    /// One non-blocking `send` without SIGPIPE, retried on EINTR.
    /// - Returns: the bytes the kernel took (0 when it would block).
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, peer: String) throws(SocketError) -> Int {
        while true {
            let n = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if n >= 0 { return n }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return 0 }
            throw SocketError(operation: "write", errno: err, peer: peer)
        }
    }

    /// One non-blocking `recv`, retried on EINTR.
    package static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, peer: String) throws(SocketError) -> ReadResult {
        while true {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 { return .bytes(n) }
            if n == 0 { return .endOfStream }
            let err = errno
            if err == EINTR { continue }
            if err == EAGAIN || err == EWOULDBLOCK { return .wouldBlock }
            throw SocketError(operation: "read", errno: err, peer: peer)
        }
    }

    package var isOpen: Bool { fd >= 0 }

    package func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
