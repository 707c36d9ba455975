import MongoBSON

/// A server's address, normalised as SDAM requires: host lowercased, port explicit
/// (27017 by default). IPv6 literals are held without brackets and written with them.
public struct ServerAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public static let defaultPort: UInt16 = 27017

    public init(host: String, port: UInt16 = ServerAddress.defaultPort) {
        self.host = Self.lowercasedHost(host)
        self.port = port
    }

    /// Parses "host", "host:port", "[v6]" or "[v6]:port" as servers write them in `hosts`,
    /// `me` and `primary`. Returns nil for anything else (empty host, bad port).
    ///
    /// Read by byte: every hello reply names its set's hosts, and finding `:` or `]` by
    /// Character walked grapheme clusters (the larger part of parsing a reply, issue 17).
    public init?(_ text: String) {
        let utf8 = text.utf8
        let colon = UInt8(ascii: ":")
        var host: Substring
        var portText: Substring?
        if utf8.first == UInt8(ascii: "[") {
            guard let close = utf8.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = text[utf8.index(after: utf8.startIndex)..<close]
            let rest = text[utf8.index(after: close)...]
            if !rest.isEmpty {
                guard rest.utf8.first == colon else { return nil }
                portText = rest[rest.utf8.index(after: rest.utf8.startIndex)...]
            }
        } else if let last = utf8.lastIndex(of: colon) {
            host = text[..<last]
            portText = text[utf8.index(after: last)...]
            guard !host.utf8.contains(colon) else { return nil }
        } else {
            host = Substring(text)
        }
        guard !host.isEmpty else { return nil }
        var port = ServerAddress.defaultPort
        if let portText {
            guard let p = Self.portNumber(portText) else { return nil }
            port = p
        }
        self.init(host: String(host), port: port)
    }

    /// 1...65535 written in ASCII digits only; nil for anything else (the connection string's
    /// parser uses it too, after it has told "not a number" apart).
    static func portNumber(_ text: Substring) -> UInt16? {
        guard !text.isEmpty else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            if value > 65535 { return nil }
        }
        return value >= 1 ? UInt16(value) : nil
    }

    /// Host names are nearly always lowercase ASCII already: checked by byte, lowercased by
    /// byte when ASCII, and only otherwise by the Unicode-aware (far slower) `lowercased()`.
    static func lowercasedHost(_ host: String) -> String {
        var hasUppercase = false
        for byte in host.utf8 {
            if byte >= 0x80 { return host.lowercased() }
            if byte >= UInt8(ascii: "A"), byte <= UInt8(ascii: "Z") { hasUppercase = true }
        }
        guard hasUppercase else { return host }
        return ConnectionOptions.asciiLowercased(host)
    }

    public var isIPv6Literal: Bool { host.utf8.contains(UInt8(ascii: ":")) }

    /// "host:port", with brackets around an IPv6 literal.
    public var description: String {
        isIPv6Literal ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (lhs: ServerAddress, rhs: ServerAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}
