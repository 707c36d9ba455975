import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// One resolved IPv4 or IPv6 socket address (a `sockaddr_storage` and its length).
package struct ResolvedAddress: Sendable, Hashable, CustomStringConvertible {
    package let family: Int32
    private let storage: [UInt8]

    /// From an IP literal, without any name resolution (the loop may call this).
    /// - Returns: nil when `host` is not an IPv4 or IPv6 literal.
    package init?(ipLiteral host: String, port: UInt16) {
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            self.init(raw: &v4, length: MemoryLayout<sockaddr_in>.size, family: AF_INET)
            return
        }
        var v6 = sockaddr_in6()
        if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            self.init(raw: &v6, length: MemoryLayout<sockaddr_in6>.size, family: AF_INET6)
            return
        }
        return nil
    }

    /// Copies a `sockaddr` of `length` bytes.
    init(raw: UnsafeRawPointer, length: Int, family: Int32) {
        self.family = family
        storage = Array(UnsafeRawBufferPointer(start: raw, count: length))
    }

    /// Calls `body` with a `sockaddr` pointer and its length, for connect/bind.
    package func withSockAddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        storage.withUnsafeBytes { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
    }

    package var port: UInt16 {
        storage.withUnsafeBytes { raw in
            family == AF_INET
                ? UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port)
                : UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port)
        }
    }

    /// e.g. "127.0.0.1:27017" or "[::1]:27017".
    package var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        storage.withUnsafeBytes { raw in
            if family == AF_INET {
                var addr = raw.load(as: sockaddr_in.self).sin_addr
                _ = inet_ntop(AF_INET, &addr, &text, socklen_t(text.count))
            } else {
                var addr = raw.load(as: sockaddr_in6.self).sin6_addr
                _ = inet_ntop(AF_INET6, &addr, &text, socklen_t(text.count))
            }
        }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
