import MongoBSON

/// One host of a connection string's host information (the spec's "host identifier"): a TCP
/// server address or a UNIX domain socket path.
public enum HostIdentifier: Sendable, Hashable, CustomStringConvertible {
    /// A hostname, IPv4 address or IP literal, with its port (27017 when none was written).
    case tcp(ServerAddress)
    /// A UNIX domain socket path, percent-decoded, case preserved; always ends in `.sock`.
    case unixSocket(path: String)

    /// The spec tests' host types. Telling an IP address from a hostname lets a connector skip
    /// name resolution (`getaddrinfo` blocks) for addresses.
    public enum Kind: String, Sendable, Hashable {
        case ipv4
        case ipLiteral = "ip_literal"
        case hostname
        case unix
    }

    public var kind: Kind {
        switch self {
        case .unixSocket: return .unix
        case .tcp(let address):
            if address.isIPv6Literal { return .ipLiteral }
            return HostIdentifier.isIPv4(address.host) ? .ipv4 : .hostname
        }
    }

    /// The TCP address, or nil for a socket.
    public var serverAddress: ServerAddress? {
        if case .tcp(let address) = self { return address }
        return nil
    }

    /// "host:port" (brackets around an IP literal), or the socket path.
    public var description: String {
        switch self {
        case .tcp(let address): return address.description
        case .unixSocket(let path): return path
        }
    }

    /// Four dot-separated decimal octets, each 0-255 (so "256.0.0.1" is a hostname).
    static func isIPv4(_ host: String) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy { $0.isASCII && $0.isNumber }
                && (Int(part) ?? 256) <= 255
        }
    }
}

// MARK: - Parsing

extension HostIdentifier {
    /// Parses one comma-separated host identifier as written in the connection string.
    ///
    /// A UNIX domain socket is recognised by a `/` after percent-decoding (an unescaped `/`
    /// never reaches here: it ends the host information), and must end in `.sock`.
    static func parse(_ raw: Substring) throws(ConnectionStringError) -> (host: HostIdentifier, hasPort: Bool) {
        let written = String(raw)
        guard !raw.isEmpty else { throw .invalidHost(host: written, reason: "empty host (two commas in a row, or a trailing comma?)") }
        let decoded = try PercentDecoding.decode(raw, part: "host")
        if decoded.contains("/") {
            guard decoded.hasSuffix(".sock") else {
                throw .invalidHost(host: decoded, reason: "a UNIX domain socket path must end in '.sock'")
            }
            return (.unixSocket(path: decoded), false)
        }
        if decoded.hasPrefix("[") {
            return try parseIPLiteral(decoded)
        }
        var host = Substring(decoded)
        var port: Substring?
        if let colon = decoded.firstIndex(of: ":") {
            host = decoded[..<colon]
            port = decoded[decoded.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .invalidHost(host: written, reason: "the host name is empty") }
        if let bad = host.first(where: { Self.isForbiddenInHostname($0) || $0.isWhitespace }) {
            throw .invalidHost(host: written, reason: "character '\(bad)' is not allowed in a host name")
        }
        let portNumber = try port.map { p throws(ConnectionStringError) in try parsePort(p, host: written) }
        return (.tcp(ServerAddress(host: String(host), port: portNumber ?? ServerAddress.defaultPort)), port != nil)
    }

    /// Characters that cannot appear in a host name (RFC 3986 gen-delims and `\`, `%`).
    /// A switch, not a `Set<Character>`: the first set of Characters in a process makes the
    /// Swift runtime scan every protocol conformance for Character's Hashable (about 0.1 ms of
    /// `ClientPool(uri:)`, issue 17).
    private static func isForbiddenInHostname(_ c: Character) -> Bool {
        switch c {
        case "[", "]", "@", "?", "#", "\\", "%", "\"", "<", ">": true
        default: false
        }
    }

    /// `[v6]` or `[v6]:port`: the address between the brackets is hex digits, `:` and `.`.
    private static func parseIPLiteral(_ text: String) throws(ConnectionStringError) -> (host: HostIdentifier, hasPort: Bool) {
        guard let close = text.firstIndex(of: "]") else {
            throw .invalidHost(host: text, reason: "IP literal has no closing ']'")
        }
        let address = text[text.index(after: text.startIndex)..<close]
        guard address.contains(":"),
              address.allSatisfy({ $0 == ":" || $0 == "." || $0.isHexDigit })
        else {
            throw .invalidHost(host: text, reason: "'\(address)' is not an IPv6 address")
        }
        let rest = text[text.index(after: close)...]
        guard !rest.isEmpty else {
            return (.tcp(ServerAddress(host: String(address))), false)
        }
        guard rest.first == ":" else {
            throw .invalidHost(host: text, reason: "expected ':port' after the IP literal, found '\(rest)'")
        }
        let port = try parsePort(rest.dropFirst(), host: text)
        return (.tcp(ServerAddress(host: String(address), port: port)), true)
    }

    private static func parsePort(_ text: Substring, host: String) throws(ConnectionStringError) -> UInt16 {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            throw .invalidPort(port: String(text), host: host, reason: "is not a number")
        }
        guard let port = ServerAddress.portNumber(text) else {
            throw .invalidPort(port: String(text), host: host, reason: "is out of range 1-65535")
        }
        return port
    }
}
