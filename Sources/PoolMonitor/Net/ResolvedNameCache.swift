import MongoBSON
import SDAMCore
import MongoWire

/// Name resolution for a client that has no thread but the caller's: lookups that run on
/// the loop itself (`LoopNameResolver`: hosts(5), then UDP queries to the name servers), each
/// server's in flight at once, so that a lookup never waits for another and the fan-out of a
/// scan is not serialized; the answer kept for later scans.
///
/// A name is looked up again only after a check of its server failed (the address may have
/// moved). IP literals are never looked up. A name server that does not answer costs the
/// servers whose names it was asked for resolv.conf's `timeout` × `attempts` (5 s × 2 by
/// default), bounded for the check by connectTimeoutMS like any step of it.
///
/// Loop-confined (the caller's thread while it runs the loop).
final class ResolvedNameCache {
    typealias Completion = (Result<[ResolvedAddress], NameResolver.ResolutionError>) -> Void
    /// Starts a lookup and calls its completion on the loop, at once or later.
    typealias Lookup = (_ host: String, _ port: UInt16, _ completion: @escaping Completion) -> Void

    private struct Key: Hashable {
        var host: String
        var port: UInt16
    }

    private var entries: [Key: [ResolvedAddress]] = [:]
    private let lookup: Lookup
    /// Ends lookups in flight (their sockets and watchers) when the client closes.
    private let cancelLookups: () -> Void
    /// Lookups made so far (for tests and the scan report).
    private(set) var lookups = 0

    init(lookup: @escaping Lookup, cancel: @escaping () -> Void = {}) {
        self.lookup = lookup
        cancelLookups = cancel
    }

    /// A cache over a resolver on `loop` (the system's configuration unless one is given).
    convenience init(loop: MonitorLoop, configuration: ResolverConfiguration = .system()) {
        let resolver = LoopNameResolver(loop: loop, configuration: configuration)
        self.init(lookup: { host, port, completion in resolver.resolve(host: host, port: port, completion: completion) },
                  cancel: { resolver.cancelAll() })
    }

    /// Ends every lookup in flight, without answers (loop thread).
    func cancelAll() { cancelLookups() }

    /// The addresses of `host`: a literal's or a cached name's at once, a lookup's when it ends.
    func addresses(host: String, port: UInt16, completion: @escaping Completion) {
        if let literal = NameResolver.literal(host: host, port: port) { return completion(.success(literal)) }
        let key = Key(host: host, port: port)
        if let cached = entries[key] { return completion(.success(cached)) }
        lookups += 1
        lookup(host, port) { [weak self] result in
            if case .success(let addresses) = result { self?.entries[key] = addresses }
            completion(result)
        }
    }

    /// The next check of `server` looks its name up again.
    func forget(_ server: ServerAddress) {
        entries[Key(host: server.host, port: server.port)] = nil
    }
}
