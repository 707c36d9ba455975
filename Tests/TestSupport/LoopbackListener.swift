import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP listener on 127.0.0.1 with a kernel-chosen port, for tests that need a
/// peer to connect to. `close()` (or deinit) closes it and every accepted socket.
public final class LoopbackListener: @unchecked Sendable {
    // Safety: used from the test's own thread only; Sendable so tests may capture it in
    // closures they then wait for.
    public let fd: Int32
    public let port: UInt16
    private var accepted: [Int32] = []

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(operation: "socket", errno: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let err = errno
            Glibc.close(fd)
            throw SocketError(operation: "bind/listen", errno: err)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.fd = fd
        port = UInt16(bigEndian: addr.sin_port)
    }

    package var address: ResolvedAddress { ResolvedAddress(ipLiteral: "127.0.0.1", port: port)! }

    /// Accepts one connection (blocking).
    @discardableResult
    public func acceptOne() -> Int32 {
        let client = accept(fd, nil, nil)
        if client >= 0 { accepted.append(client) }
        return client
    }

    private var closed = false

    /// Idempotent: a second call must not close a descriptor number another socket now uses.
    public func close() {
        guard !closed else { return }
        closed = true
        for c in accepted { Glibc.close(c) }
        accepted.removeAll()
        Glibc.close(fd)
    }

    deinit {
        for c in accepted { Glibc.close(c) }
    }
}
