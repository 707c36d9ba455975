import MongoBSON

/// A server's address, normalised as SDAM requires: host lowercased, port explicit
/// (27017 by default). IPv6 literals are held without brackets and written with them.
public struct ServerAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let host: String
    public let port: UInt16

    public static let defaultPort: UInt16 = 27017

    public init(host: String, port: UInt16 = ServerAddress.defaultPort) {
        self.host = host.lowercased()
        self.port = port
    }

    /// Parses "host", "host:port", "[v6]" or "[v6]:port" as servers write them in `hosts`,
    /// `me` and `primary`. Returns nil for anything else (empty host, bad port).
    public init?(_ text: String) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }
        } else {
            host = Substring(text)
        }
        guard !host.isEmpty else { return nil }
        var port = ServerAddress.defaultPort
        if let portText {
            guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let p = Int(portText), (1...65535).contains(p)
            else { return nil }
            port = UInt16(p)
        }
        self.init(host: String(host), port: port)
    }

    public var isIPv6Literal: Bool { host.contains(":") }

    /// "host:port", with brackets around an IPv6 literal.
    public var description: String {
        isIPv6Literal ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func < (lhs: ServerAddress, rhs: ServerAddress) -> Bool {
        (lhs.host, lhs.port) < (rhs.host, rhs.port)
    }
}
