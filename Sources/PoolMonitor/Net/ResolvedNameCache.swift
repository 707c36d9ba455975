import MongoBSON
import SDAMCore
import MongoWire

/// Name resolution for a client that has no thread but the caller's: `getaddrinfo` on the
/// caller's thread, once per host name, the answer kept for later scans.
///
/// A blocking lookup is the price of having no resolver thread (there is no portable
/// non-blocking getaddrinfo without one: glibc's getaddrinfo_a starts threads). It is paid once
/// per name and process, before a scan's checks start, so a lookup never delays another
/// server's check in flight; a name is looked up again only after a check of its server
/// failed (the address may have moved). IP literals are never looked up. What it costs: the
/// first scan of N host names waits for N lookups one after another (microseconds from
/// /etc/hosts or a local cache, a network round trip each otherwise); a name whose DNS server
/// does not answer stalls the scan for the resolver's own timeout (resolv.conf's
/// `timeout` x `attempts`, 5 s x 2 by default).
///
/// Loop-confined (the caller's thread while it runs the loop).
final class ResolvedNameCache {
    private struct Key: Hashable {
        var host: String
        var port: UInt16
    }

    private var entries: [Key: [ResolvedAddress]] = [:]
    private let lookup: BoundedResolver.Lookup
    /// Lookups made so far (for tests and the scan report).
    private(set) var lookups = 0

    init(lookup: @escaping BoundedResolver.Lookup = NameResolver.resolveBlocking) {
        self.lookup = lookup
    }

    /// The addresses of `host`: a literal's at once, a cached name's, or a lookup's now.
    func addresses(host: String, port: UInt16) -> Result<[ResolvedAddress], NameResolver.ResolutionError> {
        if let literal = NameResolver.literal(host: host, port: port) { return .success(literal) }
        let key = Key(host: host, port: port)
        if let cached = entries[key] { return .success(cached) }
        lookups += 1
        let result = lookup(host, port)
        if case .success(let addresses) = result { entries[key] = addresses }
        return result
    }

    /// Looks up the names among `servers` not cached yet (before a scan's checks start).
    func prefetch(_ servers: some Sequence<ServerAddress>) {
        for server in servers where NameResolver.literal(host: server.host, port: server.port) == nil {
            _ = addresses(host: server.host, port: server.port)
        }
    }

    /// The next check of `server` looks its name up again.
    func forget(_ server: ServerAddress) {
        entries[Key(host: server.host, port: server.port)] = nil
    }
}
