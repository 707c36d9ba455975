#if canImport(Glibc)
import Glibc
#endif

/// Resolves host names on the loop, with no thread of its own, for the single-threaded client:
/// hosts(5) first, then A and AAAA queries over UDP to resolv.conf's name servers, every
/// lookup a pair of datagrams with its own read watcher and timer, so that the lookups of a
/// scan's servers are all in flight at once and a slow name server delays only the server
/// whose name it is asked for. Search domains and ndots as resolv.conf(5) says; each server is
/// given `timeout` seconds per attempt, `attempts` rounds over the servers.
///
/// Not done: a truncated UDP answer (TC) is used as it is, with no retry over TCP (A and AAAA
/// answers for a MongoDB host fit a datagram); no DNSSEC, no EDNS.
///
/// Loop-confined.
final class LoopNameResolver {
    typealias Completion = (Result<[ResolvedAddress], NameResolver.ResolutionError>) -> Void

    let configuration: ResolverConfiguration
    private let loop: MonitorLoop
    private var inFlight: [ObjectIdentifier: Lookup] = [:]
    private var nextID = UInt16.random(in: 0...UInt16.max)

    init(loop: MonitorLoop, configuration: ResolverConfiguration = .system()) {
        self.loop = loop
        self.configuration = configuration
    }

    /// Calls `completion` on the loop, at once for an IP literal or a name in hosts(5), else
    /// when the name servers answered or the attempts ran out.
    func resolve(host: String, port: UInt16, completion: @escaping Completion) {
        if let literal = NameResolver.literal(host: host, port: port) {
            completion(.success(literal))
            return
        }
        let key = host.lowercased()
        if let known = configuration.hosts[key.hasSuffix(".") ? String(key.dropLast()) : key] {
            let addresses = known.compactMap { ResolvedAddress(ipLiteral: $0, port: port) }
            if !addresses.isEmpty {
                completion(.success(addresses))
                return
            }
        }
        let lookup = Lookup(resolver: self, host: host, port: port, completion: completion)
        inFlight[ObjectIdentifier(lookup)] = lookup
        lookup.start()
    }

    /// Lookups not answered yet.
    var pendingCount: Int { inFlight.count }

    /// Ends every lookup in flight without calling its completion (the client is closing).
    func cancelAll() {
        for lookup in inFlight.values { lookup.cancel() }
        inFlight.removeAll()
    }

    fileprivate func takeID() -> UInt16 {
        nextID &+= 1
        return nextID
    }

    fileprivate func finished(_ lookup: Lookup) {
        inFlight[ObjectIdentifier(lookup)] = nil
    }

    fileprivate var loopForLookups: MonitorLoop { loop }

    /// One name's lookup: candidates (search domains) in order; for each, the servers in turn.
    fileprivate final class Lookup {
        private unowned let resolver: LoopNameResolver
        private let host: String
        private let port: UInt16
        private let completion: Completion
        private let candidates: [String]
        private var candidate = 0
        private var server = 0
        private var attempt = 0
        private var fd: Int32 = -1
        private var watcher: IOWatcher?
        private var timer: TimerWatcher?
        /// Query ids of this round, by type, until answered.
        private var pending: [UInt16: UInt16] = [:]
        private var addresses: [String] = []
        private var sawNameError = 0
        private var lastProblem = "no answer"

        init(resolver: LoopNameResolver, host: String, port: UInt16, completion: @escaping Completion) {
            self.resolver = resolver
            self.host = host
            self.port = port
            self.completion = completion
            candidates = resolver.configuration.candidates(for: host)
        }

        func start() { ask() }

        func cancel() {
            timer?.stop()
            closeSocket()
        }

        /// Sends the A and AAAA queries of the current candidate to the current server.
        private func ask() {
            closeSocket()
            let configuration = resolver.configuration
            let nameServer = configuration.nameServers[server]
            guard let target = ResolvedAddress(ipLiteral: nameServer.address, port: nameServer.port) else {
                lastProblem = "name server \(nameServer.address) is not an IP address"
                return nextServer()
            }
            fd = socket(target.family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0, target.withSockAddr({ Glibc.connect(fd, $0, $1) }) == 0 else {
                lastProblem = "cannot reach name server \(nameServer.address): \(String(cString: strerror(errno)))"
                return nextServer()
            }
            pending = [:]
            addresses = []
            sawNameError = 0
            for type in [DNSMessage.typeA, DNSMessage.typeAAAA] {
                let id = resolver.takeID()
                guard let query = DNSMessage.query(id: id, name: candidates[candidate], type: type) else {
                    return finish(.failure(.init(host: host, reason: "not a valid DNS name")))
                }
                pending[type] = id
                _ = query.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            let watcher = IOWatcher(loop: resolver.loopForLookups, fd: fd, events: .read) { [unowned self] _ in self.readAnswers() }
            watcher.start()
            self.watcher = watcher
            let timer = self.timer ?? TimerWatcher(loop: resolver.loopForLookups) { [unowned self] in self.timedOut() }
            self.timer = timer
            timer.start(after: Double(configuration.timeoutSeconds))
        }

        private func readAnswers() {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while fd >= 0 {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard n > 0 else {
                    if n < 0, errno != EAGAIN, errno != EWOULDBLOCK {
                        lastProblem = "name server \(resolver.configuration.nameServers[server].address): \(String(cString: strerror(errno)))"
                        return nextServer()
                    }
                    return
                }
                let bytes = Array(buffer[0..<n])
                guard let (type, id) = pending.first(where: { _, id in bytes.count >= 2 && UInt16(bytes[0]) << 8 | UInt16(bytes[1]) == id }),
                      let answer = try? DNSMessage.answer(bytes, id: id) else { continue }
                pending[type] = nil
                switch answer.code {
                case .noError: addresses += answer.addresses
                case .nameError: sawNameError += 1
                case .failure(let code):
                    lastProblem = "name server \(resolver.configuration.nameServers[server].address) answered with rcode \(code)"
                    return nextServer()
                }
                if pending.isEmpty { return roundAnswered() }
            }
        }

        private func roundAnswered() {
            let resolved = addresses.compactMap { ResolvedAddress(ipLiteral: $0, port: port) }
            if !resolved.isEmpty { return finish(.success(resolved)) }
            lastProblem = sawNameError > 0 ? "no such name (NXDOMAIN)" : "no A or AAAA record"
            candidate += 1
            server = 0
            attempt = 0
            guard candidate < candidates.count else {
                return finish(.failure(.init(host: host, reason: lastProblem)))
            }
            ask()
        }

        private func timedOut() {
            lastProblem = "no answer from \(resolver.configuration.nameServers[server].address) within \(resolver.configuration.timeoutSeconds) s"
            nextServer()
        }

        private func nextServer() {
            server += 1
            if server >= resolver.configuration.nameServers.count {
                server = 0
                attempt += 1
            }
            guard attempt < resolver.configuration.attempts else {
                return finish(.failure(.init(host: host, reason: lastProblem)))
            }
            ask()
        }

        private func finish(_ result: Result<[ResolvedAddress], NameResolver.ResolutionError>) {
            timer?.stop()
            closeSocket()
            resolver.finished(self)
            completion(result)
        }

        private func closeSocket() {
            watcher?.stop()
            watcher = nil
            if fd >= 0 { _ = Glibc.close(fd) }
            fd = -1
        }

        deinit { cancel() }
    }
}
