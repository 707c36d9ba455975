import MongoBSON

/// A parsed and validated `mongodb://` or `mongodb+srv://` connection string, per the
/// connection-string and uri-options specifications.
///
/// Parsing never performs I/O: a `mongodb+srv` string keeps its one SRV host name in
/// ``hosts`` until a resolver replaces it with the seed list.
public struct ConnectionString: Sendable, Hashable, CustomStringConvertible {
    /// `mongodb` or `mongodb+srv`.
    public enum Scheme: String, Sendable, Hashable {
        case mongodb
        case mongodbSRV = "mongodb+srv"
    }

    public var scheme: Scheme
    /// The seeds in the order written; for `mongodb+srv`, the one SRV name (port 27017).
    public var hosts: [HostIdentifier]
    /// Percent-decoded; nil when there is no userinfo.
    public var username: String?
    /// Percent-decoded; nil when the userinfo has no `:`, "" for `user:@`.
    public var password: String?
    /// The auth database from the path, percent-decoded; nil when absent or empty. Its presence
    /// alone does not ask for authentication.
    public var authDatabase: String?
    public var options: ConnectionOptions
    /// What was ignored and why: unknown options, invalid option values, repeated keys. The
    /// caller decides whether and where to log them; parsing never prints.
    public var warnings: [String]

    /// Whether this is a `mongodb+srv` string (the seed list comes from DNS).
    public var isSRV: Bool { scheme == .mongodbSRV }

    /// Whether connections use TLS: `tls`/`ssl` when given, else on for `mongodb+srv` (the
    /// uri-options spec's default) and off otherwise.
    public var usesTLS: Bool { options.tls ?? isSRV }

    /// Parses and validates `text`.
    ///
    /// - Parameter text: the connection string.
    /// - Throws: ``ConnectionStringError`` for a malformed string or options the specs forbid
    ///   together. Invalid values of single options are not errors: see ``warnings``.
    public init(_ text: String) throws(ConnectionStringError) {
        let rest: Substring
        if text.hasPrefix("mongodb://") {
            scheme = .mongodb
            rest = text.dropFirst("mongodb://".count)
        } else if text.hasPrefix("mongodb+srv://") {
            scheme = .mongodbSRV
            rest = text.dropFirst("mongodb+srv://".count)
        } else {
            let shown = text.firstRange(of: "://").map { String(text[..<$0.upperBound]) } ?? String(text.prefix(20))
            throw .invalidScheme(found: shown)
        }
        warnings = []

        // Host information ends at the first unescaped "/" or "?" (the slash is optional).
        let hostEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        var hostInfo = rest[..<hostEnd]
        var pathAndQuery = rest[hostEnd...]

        // Userinfo ends at the last "@" of the host information.
        if let at = hostInfo.lastIndex(of: "@") {
            (username, password) = try Self.parseUserinfo(hostInfo[..<at])
            hostInfo = hostInfo[hostInfo.index(after: at)...]
        } else {
            username = nil
            password = nil
        }
        guard !hostInfo.isEmpty else {
            if pathAndQuery.first == "/" {
                let path = pathAndQuery.prefix(while: { $0 != "?" })
                throw .invalidHost(host: String(path), reason: "UNIX domain socket paths must be percent-encoded ('/' as %2F)")
            }
            throw .missingHost
        }

        var parsedHosts: [(host: HostIdentifier, hasPort: Bool)] = []
        for raw in hostInfo.split(separator: ",", omittingEmptySubsequences: false) {
            parsedHosts.append(try HostIdentifier.parse(raw))
        }
        hosts = parsedHosts.map(\.host)

        // "/db?options", "/db", "/?options", "?options" or "".
        var query: Substring = ""
        if pathAndQuery.first == "/" { pathAndQuery = pathAndQuery.dropFirst() }
        if let question = pathAndQuery.firstIndex(of: "?") {
            query = pathAndQuery[pathAndQuery.index(after: question)...]
            pathAndQuery = pathAndQuery[..<question]
        }
        if pathAndQuery.contains("@") {
            // "user/name@host": the "/" ended the host information inside the userinfo.
            throw .invalidUserinfo(reason: "it contains an unescaped '/' (use %2F), or the auth database an unescaped '@' (use %40)")
        }
        authDatabase = try Self.parseAuthDatabase(pathAndQuery)

        let parsed = try ConnectionOptions.parse(query: query, warnings: &warnings)
        options = parsed.options
        if isSRV { try Self.validateSRV(parsedHosts) }
        try options.validate(hosts: hosts, isSRV: isSRV, present: parsed.present)
    }

    /// The connection string with the password replaced by `***`, for logs and messages.
    public var description: String {
        var text = scheme.rawValue + "://"
        if let username {
            text += username
            if password != nil { text += ":***" }
            text += "@"
        }
        text += hosts.map(\.description).joined(separator: ",")
        if let authDatabase { text += "/" + authDatabase }
        return text
    }
}

// MARK: - Parts

extension ConnectionString {
    /// `userinfo = *( unreserved / pct-encoded / sub-delims / ":" )` (RFC 3986 3.2.1), with at
    /// most one `:`, which separates the password.
    static func parseUserinfo(_ userinfo: Substring) throws(ConnectionStringError) -> (String, String?) {
        if userinfo.contains("@") {
            throw .invalidUserinfo(reason: "it contains an unescaped '@' (use %40)")
        }
        if userinfo.filter({ $0 == ":" }).count > 1 {
            throw .invalidUserinfo(reason: "it contains more than one unescaped ':' (use %3A)")
        }
        guard PercentDecoding.isWellFormed(userinfo) else {
            throw .invalidUserinfo(reason: "it contains a '%' not followed by two hex digits (use %25)")
        }
        if let bad = userinfo.unicodeScalars.first(where: { !isAllowedInUserinfo($0) }) {
            throw .invalidUserinfo(reason: "character '\(bad)' is not allowed unescaped")
        }
        let colon = userinfo.firstIndex(of: ":")
        let user = try PercentDecoding.decode(userinfo[..<(colon ?? userinfo.endIndex)], part: "username")
        guard !user.isEmpty else { throw .invalidUserinfo(reason: "the username is empty") }
        let password = try colon.map { c throws(ConnectionStringError) in
            try PercentDecoding.decode(userinfo[userinfo.index(after: c)...], part: "password")
        }
        return (user, password)
    }

    private static func isAllowedInUserinfo(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", ".", "_", "~": return true // unreserved
        case "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=": return true // sub-delims
        case ":", "%": return true
        default: return false
        }
    }

    /// Percent-decodes the path; the spec prohibits `/ \ space " $` in the decoded name.
    static func parseAuthDatabase(_ path: Substring) throws(ConnectionStringError) -> String? {
        guard !path.isEmpty else { return nil }
        let name = try PercentDecoding.decode(path, part: "auth database")
        if let bad = name.first(where: { "/\\ \"$".contains($0) }) {
            let shown = bad == " " ? "space" : "'\(bad)'"
            throw .invalidAuthDatabase(name: name, reason: "\(shown) is not allowed in a database name")
        }
        return name
    }

    /// The initial DNS seedlist discovery spec's URI rules: exactly one host, a name (not an IP
    /// literal or socket), no port.
    static func validateSRV(_ hosts: [(host: HostIdentifier, hasPort: Bool)]) throws(ConnectionStringError) {
        guard hosts.count == 1, let only = hosts.first else {
            throw .invalidSRV(reason: "expected exactly one host name, found \(hosts.count)")
        }
        switch only.host.kind {
        case .unix: throw .invalidSRV(reason: "'\(only.host)' is a UNIX domain socket, not a host name")
        case .ipLiteral: throw .invalidSRV(reason: "'\(only.host)' is an IP literal, not a host name")
        case .ipv4, .hostname: break
        }
        if only.hasPort {
            throw .invalidSRV(reason: "host '\(only.host)' must not have a port (SRV records give the ports)")
        }
    }
}

extension ConnectionString: CustomReflectable {
    /// The parts, with the password as `***` (and the options' secrets hidden, see
    /// `ConnectionOptions.customMirror`), so `dump` and reflection never print it.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "scheme": scheme, "hosts": hosts, "username": username as Any, "password": password.map { _ in "***" } as Any,
            "authDatabase": authDatabase as Any, "options": options, "warnings": warnings,
        ], displayStyle: .struct)
    }
}
