import MongoBSON

/// Where a `mongodb+srv://` client's seeds come from, and the initial DNS seedlist discovery
/// spec's rules for what DNS may say about them: which names to query, which SRV targets to
/// accept, which TXT options to take, how srvMaxHosts chooses.
///
/// Pure: the answers come in as values (`SRVRecord`, `TXTRecord`) and randomness as a
/// generator, so the rules are tested without DNS.
public struct SRVSeedlist: Sendable, Hashable {
    /// The connection string as written (its one host is the SRV name).
    public let connectionString: ConnectionString
    /// The host of the connection string, lowercased, without a trailing dot.
    public let hostname: String
    /// What returned targets must end with: the hostname without its first label when it has
    /// three labels or more, else the whole hostname (spec, "Connection String Format").
    public let domainName: String
    /// `srvServiceName`, "mongodb" by default.
    public let serviceName: String
    /// `srvMaxHosts`; 0 means every host.
    public let maxHosts: Int
    /// The floor of the rescan interval: 60 s (polling spec). Only the package's tests lower
    /// it, to run the polling scenarios in seconds.
    package var minimumRescanInterval: Duration = SRVPolling.minimumRescanInterval

    /// The options a TXT record may carry (normalised keys), and how the spec writes them.
    static let txtOptions: [String: String] = [
        "authsource": "authSource", "replicaset": "replicaSet", "loadbalanced": "loadBalanced",
    ]

    /// Nil unless `connectionString` is `mongodb+srv://` with a host name.
    public init?(connectionString: ConnectionString) {
        guard connectionString.isSRV, connectionString.hosts.count == 1,
              let host = connectionString.hosts.first?.serverAddress?.host
        else { return nil }
        self.connectionString = connectionString
        hostname = Self.normalized(host)
        domainName = Self.domainName(of: hostname)
        serviceName = connectionString.options.srvServiceName ?? "mongodb"
        maxHosts = connectionString.options.srvMaxHosts ?? 0
    }

    /// `_{srvServiceName}._tcp.{hostname}`: the name of the SRV query.
    public var srvName: String { "_\(serviceName)._tcp.\(hostname)" }
    /// The name of the TXT query: the hostname itself.
    public var txtName: String { hostname }

    // MARK: - Validating targets

    /// Lowercased, one trailing dot removed: how targets and the hostname are compared.
    static func normalized(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? String(lower.dropLast()) : lower
    }

    static func domainName(of hostname: String) -> String {
        let labels = hostname.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 3 ? labels.dropFirst().joined(separator: ".") : hostname
    }

    /// Why `target` may not be used (nil when it may): it must end with `.{domainName}` and
    /// have no empty label. For a hostname of one or two labels that means at least one label
    /// more than the hostname, so the hostname itself is refused (prose tests 2-4).
    public func problem(withTarget target: String) -> String? {
        let name = Self.normalized(target)
        if name.isEmpty || name.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            return "'\(target)' is not a host name"
        }
        guard name.hasSuffix("." + domainName) else {
            if name == hostname {
                return "'\(target)' is the SRV host name itself, and '\(hostname)' has fewer than three labels: a target must add one"
            }
            return "'\(target)' is not in the parent domain '\(domainName)' of '\(hostname)'"
        }
        return nil
    }

    /// The targets as server addresses, in answer order without repeats, and the records
    /// whose target is refused, with why.
    public func hosts(in records: [SRVRecord]) -> (valid: [ServerAddress], refused: [(SRVRecord, String)]) {
        var valid: [ServerAddress] = []
        var seen = Set<ServerAddress>()
        var refused: [(SRVRecord, String)] = []
        for record in records {
            if let problem = problem(withTarget: record.target) {
                refused.append((record, problem))
                continue
            }
            let address = ServerAddress(host: Self.normalized(record.target), port: record.port)
            if seen.insert(address).inserted { valid.append(address) }
        }
        return (valid, refused)
    }

    // MARK: - The initial seed list

    /// The seed list and options DNS gives, by the initial seedlist discovery spec: every SRV
    /// target verified (one outside the parent domain fails the whole list), at most one TXT
    /// record holding only authSource, replicaSet and loadBalanced (the connection string's
    /// own values win), srvMaxHosts applied with a Fisher-Yates shuffle, then the URI
    /// validation that needed the records (srvMaxHosts against a TXT replicaSet, loadBalanced
    /// with several hosts).
    ///
    /// - Parameters:
    ///   - srv: the SRV answer (an empty one is an error).
    ///   - txt: the TXT records of the hostname (none is fine).
    /// - Throws: `SeedlistError` naming what DNS said that the spec forbids.
    public func resolve(
        srv: [SRVRecord], txt: [TXTRecord], using generator: inout some RandomNumberGenerator
    ) throws(SeedlistError) -> ResolvedSeedlist {
        guard !srv.isEmpty else { throw .noSRVRecords(name: srvName) }
        let (hosts, refused) = self.hosts(in: srv)
        if let (record, problem) = refused.first {
            throw .targetRefused(name: srvName, target: record.target, reason: problem)
        }
        var effective = connectionString
        effective.options = try mergedOptions(txt: txt, warnings: &effective.warnings)
        let seeds = Self.choose(maxHosts, of: hosts, using: &generator)
        effective.hosts = seeds.map(HostIdentifier.tcp)
        do {
            try effective.options.validate(hosts: effective.hosts, isSRV: true, present: [])
        } catch {
            throw .invalidOptions(name: srvName, error)
        }
        let lowestTTL = srv.compactMap(\.ttl).min()
        return ResolvedSeedlist(seeds: seeds, hosts: hosts, connectionString: effective, lowestTTL: lowestTTL)
    }

    /// The connection string's options with the TXT record's beneath them.
    func mergedOptions(txt: [TXTRecord], warnings: inout [String]) throws(SeedlistError) -> ConnectionOptions {
        var options = connectionString.options
        guard !txt.isEmpty else { return options }
        guard txt.count == 1, let record = txt.first else { throw .multipleTXTRecords(name: txtName, count: txt.count) }
        let text = record.text
        let fromTXT: ConnectionOptions
        do {
            for pair in try ConnectionOptions.splitPairs(Substring(text)) where Self.txtOptions[pair.normalizedKey] == nil {
                throw SeedlistError.txtOptionNotAllowed(name: txtName, option: pair.key)
            }
            var txtWarnings: [String] = []
            fromTXT = try ConnectionOptions.parse(query: Substring(text), warnings: &txtWarnings).options
            warnings += txtWarnings.map { "TXT record of \(txtName): \($0)" }
        } catch let error as SeedlistError {
            throw error
        } catch let error as ConnectionStringError {
            throw .malformedTXT(name: txtName, error)
        } catch {
            throw .malformedTXT(name: txtName, .invalidOption(key: text, reason: "\(error)"))
        }
        if options.authSource == nil { options.authSource = fromTXT.authSource }
        if options.replicaSet == nil { options.replicaSet = fromTXT.replicaSet }
        if options.loadBalanced == nil { options.loadBalanced = fromTXT.loadBalanced }
        if options.authSource == "" {
            throw .malformedTXT(name: txtName, .invalidOption(key: "authSource", reason: "must not be empty"))
        }
        return options
    }

    /// All of `hosts` when `maxHosts` is 0 or at least their number; else `maxHosts` of them
    /// chosen at random (a Fisher-Yates shuffle, as the spec recommends, then the first ones).
    public static func choose(_ maxHosts: Int, of hosts: [ServerAddress], using generator: inout some RandomNumberGenerator) -> [ServerAddress] {
        guard maxHosts > 0, maxHosts < hosts.count else { return hosts }
        return Array(fisherYatesShuffled(hosts, using: &generator).prefix(maxHosts))
    }

    /// The "modern" Fisher-Yates shuffle (Durstenfeld): each position from the last down
    /// swaps with a uniformly chosen one at or before it.
    static func fisherYatesShuffled<T>(_ items: [T], using generator: inout some RandomNumberGenerator) -> [T] {
        var result = items
        var i = result.count - 1
        while i > 0 {
            let j = Int.random(in: 0...i, using: &generator)
            result.swapAt(i, j)
            i -= 1
        }
        return result
    }
}

/// What DNS gave a `mongodb+srv://` client: the seeds (after srvMaxHosts), every valid host,
/// and the connection string as if written with them (`mongodb+srv` kept, so TLS stays on by
/// default; the TXT options merged under the URI's).
public struct ResolvedSeedlist: Sendable, Hashable {
    public var seeds: [ServerAddress]
    /// Every verified target, in answer order.
    public var hosts: [ServerAddress]
    public var connectionString: ConnectionString
    /// The lowest TTL among the SRV records; nil when the resolver gave none.
    public var lowestTTL: UInt32?
}

/// Why DNS gave no usable seed list.
public enum SeedlistError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The lookup failed (NXDOMAIN, a timeout, SERVFAIL, ...): the records may come later.
    case lookupFailed(DNSLookupError)
    /// The SRV query was answered with no records.
    case noSRVRecords(name: String)
    /// A target is outside the parent domain (or not a host name): the spec forbids
    /// connecting to any of the answer's hosts then.
    case targetRefused(name: String, target: String, reason: String)
    /// The spec allows one TXT record per host name.
    case multipleTXTRecords(name: String, count: Int)
    /// The TXT record has an option other than authSource, replicaSet and loadBalanced.
    case txtOptionNotAllowed(name: String, option: String)
    /// The TXT record is not `key=value&...`.
    case malformedTXT(name: String, ConnectionStringError)
    /// The options with the records break the URI rules (srvMaxHosts with replicaSet,
    /// loadBalanced=true with several hosts, ...).
    case invalidOptions(name: String, ConnectionStringError)
    /// The settings the records give break a rule of this driver or of SDAM (an authSource
    /// the credential's mechanism refuses, say).
    case unusable(name: String, reason: String)

    /// Whether waiting cannot help: the records were read and break the spec's rules, so
    /// operations fail at once instead of after serverSelectionTimeoutMS.
    public var isInvalidResult: Bool {
        if case .lookupFailed = self { return false }
        return true
    }

    public var description: String {
        switch self {
        case .lookupFailed(let error):
            error.description
        case .noSRVRecords(let name):
            "SRV lookup of \(name) failed: the answer has no SRV records"
        case .targetRefused(let name, _, let reason):
            "SRV record of \(name) refused: \(reason)"
        case .multipleTXTRecords(let name, let count):
            "TXT lookup of \(name) found \(count) records; at most one is allowed"
        case .txtOptionNotAllowed(let name, let option):
            "TXT record of \(name) sets \(option); only authSource, replicaSet and loadBalanced may be given there"
        case .malformedTXT(let name, let error):
            "TXT record of \(name) is malformed: \(error)"
        case .invalidOptions(let name, let error):
            "the records of \(name) make the connection string invalid: \(error)"
        case .unusable(let name, let reason):
            "the records of \(name) give settings that cannot be used: \(reason)"
        }
    }
}
