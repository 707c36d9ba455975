/// What a resolver without a thread reads of the system's configuration: the name servers,
/// search domains, ndots, timeout and attempts of resolv.conf(5), and the names of hosts(5).
/// Parsed from text, so tests give their own; `system()` reads /etc/resolv.conf and /etc/hosts.
struct ResolverConfiguration: Sendable, Equatable {
    /// "address" or "address#port" is not resolv.conf syntax; the port is for tests.
    struct NameServer: Sendable, Equatable {
        var address: String
        var port: UInt16 = 53
    }

    var nameServers: [NameServer] = []
    var search: [String] = []
    var ndots = 1
    /// Seconds per attempt (resolv.conf's `timeout`, default 5, at most 30).
    var timeoutSeconds = 5
    var attempts = 2
    /// hosts(5): lowercased name → addresses, in file order.
    var hosts: [String: [String]] = [:]

    init(resolvConf: String, hosts hostsText: String) {
        for line in resolvConf.split(whereSeparator: \.isNewline) {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let keyword = words.first, !keyword.hasPrefix("#"), !keyword.hasPrefix(";") else { continue }
            let values = words.dropFirst().map(String.init)
            switch keyword {
            case "nameserver":
                if let address = values.first, nameServers.count < 3 { nameServers.append(NameServer(address: address)) }
            case "search":
                search = values
            case "domain":
                search = values.prefix(1).map { $0 }
            case "options":
                for option in values {
                    let parts = option.split(separator: ":", maxSplits: 1)
                    guard parts.count == 2, let number = Int(parts[1]) else { continue }
                    switch parts[0] {
                    case "ndots": ndots = min(max(number, 0), 15)
                    case "timeout": timeoutSeconds = min(max(number, 1), 30)
                    case "attempts": attempts = min(max(number, 1), 5)
                    default: break
                    }
                }
            default:
                continue
            }
        }
        // resolv.conf(5): without a nameserver line, the name server on the local machine.
        if nameServers.isEmpty { nameServers = [NameServer(address: "127.0.0.1")] }
        for line in hostsText.split(whereSeparator: \.isNewline) {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = content.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard words.count >= 2 else { continue }
            for name in words.dropFirst() { hosts[name.lowercased(), default: []].append(words[0]) }
        }
    }

    /// The system's configuration, read now.
    static func system() -> ResolverConfiguration {
        ResolverConfiguration(resolvConf: HostEnvironment.readSmallFile("/etc/resolv.conf") ?? "",
                              hosts: HostEnvironment.readSmallFile("/etc/hosts", limit: 1 << 20) ?? "")
    }

    /// The absolute names to try for `host`, in order (resolv.conf's ndots rule): a name with a
    /// trailing dot as it is; one with at least ndots dots as it is, then with each search
    /// domain; one with fewer, with each search domain first.
    func candidates(for host: String) -> [String] {
        if host.hasSuffix(".") { return [host] }
        let searched = search.map { "\(host).\($0)" }
        let dots = host.reduce(0) { $0 + ($1 == "." ? 1 : 0) }
        return dots >= ndots ? [host] + searched : searched + [host]
    }
}
