import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 held by this process: listening while its server is up, bound but
/// not listening while it is down (the kernel refuses connections and no other socket can take
/// the port), so that a killed server revives on the same address.
///
/// Non-blocking, close-on-exec. Loop-confined like everything of the simulator's I/O.
final class ListeningSocket {
    private(set) var fd: Int32
    let port: UInt16
    private(set) var isListening = false

    /// The outcome of one accept.
    enum Accepted {
        case connection(Int32)
        case wouldBlock
        case failed(Int32)
    }

    /// Binds 127.0.0.1:`port` (0: a port the kernel chooses) without listening yet.
    init(port: UInt16) throws(SocketError) {
        let fd = try Self.bind(port: port)
        self.fd = fd
        self.port = port != 0 ? port : Self.localPort(of: fd)
    }

    deinit { close() }

    /// Starts listening (again, after `stopListening`).
    func listen() throws(SocketError) {
        guard !isListening else { return }
        if fd < 0 { fd = try Self.bind(port: port) }
        guard Glibc.listen(fd, SOMAXCONN) == 0 else {
            throw SocketError(operation: "listen on 127.0.0.1:\(port)", errno: errno)
        }
        isListening = true
    }

    /// Stops listening but keeps the port: closes the listening socket (the kernel resets
    /// connections still in its backlog) and binds a fresh, non-listening one to the same port.
    func stopListening() throws(SocketError) {
        guard isListening else { return }
        close()
        fd = try Self.bind(port: port)
    }

    func accept() -> Accepted {
        while true {
            let client = Glibc.accept(fd, nil, nil)
            if client >= 0 {
                // Glibc's module does not export accept4: set the flags the accepted socket
                // does not inherit.
                _ = fcntl(client, F_SETFD, FD_CLOEXEC)
                _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
                var one: Int32 = 1
                _ = setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                return .connection(client)
            }
            let err = errno
            switch err {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: return .failed(err)
            }
        }
    }

    /// Releases the port. Idempotent.
    func close() {
        guard fd >= 0 else { return }
        _ = Glibc.close(fd)
        fd = -1
        isListening = false
    }

    private static func bind(port: UInt16) throws(SocketError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            let err = errno
            _ = Glibc.close(fd)
            throw SocketError(operation: "bind to 127.0.0.1:\(port)", errno: err)
        }
        return fd
    }

    private static func localPort(of fd: Int32) -> UInt16 {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: address.sin_port)
    }
}
