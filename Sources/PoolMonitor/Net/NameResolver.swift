import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Resolves host names without blocking the loop: `getaddrinfo` blocks, so it runs off the
/// loop on a bounded resolver (`BoundedResolver.shared`) and the result is handed to a
/// callback (which posts it back to the loop). IP literals skip resolution entirely.
package enum NameResolver {
    /// Why a name did not resolve.
    package struct ResolutionError: Error, Sendable, CustomStringConvertible {
        package var host: String
        package var reason: String
        package var description: String { "cannot resolve host '\(host)': \(reason)" }
    }

    /// The addresses of an IP literal, at once; nil when `host` needs resolving.
    package static func literal(host: String, port: UInt16) -> [ResolvedAddress]? {
        ResolvedAddress(ipLiteral: host, port: port).map { [$0] }
    }

    /// Resolves `host` off the calling thread and calls `completion` (on a resolver thread) with
    /// every TCP address it has, IPv4 and IPv6, in the order the resolver gives them.
    package static func resolve(
        host: String,
        port: UInt16,
        completion: @escaping @Sendable (Result<[ResolvedAddress], ResolutionError>) -> Void
    ) {
        if let literal = literal(host: host, port: port) {
            completion(.success(literal))
            return
        }
        BoundedResolver.shared.resolve(host: host, port: port, completion: completion)
    }

    /// The blocking lookup; never call it on the loop thread.
    package static func resolveBlocking(host: String, port: UInt16) -> Result<[ResolvedAddress], ResolutionError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_protocol = Int32(IPPROTO_TCP)
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0 else {
            return .failure(ResolutionError(host: host, reason: String(cString: gai_strerror(rc))))
        }
        defer { freeaddrinfo(result) }
        var addresses: [ResolvedAddress] = []
        var node = result
        while let info = node {
            if let addr = info.pointee.ai_addr,
               info.pointee.ai_family == AF_INET || info.pointee.ai_family == AF_INET6 {
                let address = ResolvedAddress(raw: addr, length: Int(info.pointee.ai_addrlen), family: info.pointee.ai_family)
                if !addresses.contains(address) { addresses.append(address) }
            }
            node = info.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(ResolutionError(host: host, reason: "no IPv4 or IPv6 address"))
        }
        return .success(addresses)
    }
}
