import MongoBSON

/// Why a connection string was rejected. Each case names the offending part, so a user can find
/// and fix it; `description` is the message to show.
///
/// Only structural problems and the specs' cross-option rules throw. An invalid value of a
/// single option, or an unknown option, is not an error: it is ignored and reported in
/// ``ConnectionString/warnings``, as the connection-string spec requires.
///
/// No case carries a password: the credential cases name the part at fault, never its value.
public enum ConnectionStringError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text does not start with `mongodb://` or `mongodb+srv://`.
    case invalidScheme(found: String)
    /// No host between the scheme and the path or options.
    case missingHost
    /// The userinfo (`user:password@`) breaks the spec's encoding rules.
    case invalidUserinfo(reason: String)
    /// One host identifier is malformed; `host` is as written.
    case invalidHost(host: String, reason: String)
    /// A port is not a number in 1-65535; `host` is the whole identifier as written.
    case invalidPort(port: String, host: String, reason: String)
    /// The auth database contains a character the spec prohibits.
    case invalidAuthDatabase(name: String, reason: String)
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8, in `part`.
    case invalidPercentEncoding(part: String, text: String)
    /// An option is malformed in a way the spec makes an error (no `=`, a repeated proxy key).
    case invalidOption(key: String, reason: String)
    /// Options (or options and hosts) that the specs forbid together.
    case conflictingOptions(String)
    /// The `mongodb+srv` scheme's own rules: one host name, no port.
    case invalidSRV(reason: String)
    /// `authMechanism` names no mechanism of the auth spec (MONGODB-CR, removed in MongoDB
    /// 4.0, included).
    case invalidAuthMechanism(found: String)
    /// The credential breaks the auth spec's rules for `mechanism` (nil: the default,
    /// negotiated between SCRAM-SHA-256 and SCRAM-SHA-1).
    case invalidCredential(mechanism: AuthMechanism?, problem: CredentialProblem)

    public var description: String {
        switch self {
        case .invalidScheme(let found):
            let shown = found.isEmpty ? "an empty string" : "'\(found)'"
            return "connection string must start with 'mongodb://' or 'mongodb+srv://', found \(shown)"
        case .missingHost:
            return "connection string has no host: expected at least one host after the scheme"
        case .invalidUserinfo(let reason):
            return "invalid userinfo: \(reason); username and password must be percent-encoded"
        case .invalidHost(let host, let reason):
            return "invalid host '\(host)': \(reason)"
        case .invalidPort(let port, let host, let reason):
            let isNumber = !port.isEmpty && port.allSatisfy { $0.isASCII && $0.isNumber }
            return "port \(isNumber ? port : "'\(port)'") of host '\(host)' \(reason)"
        case .invalidAuthDatabase(let name, let reason):
            return "invalid auth database '\(name)': \(reason)"
        case .invalidPercentEncoding(let part, let text):
            return "invalid percent-encoding in \(part) '\(text)': '%' must be followed by two hex digits encoding UTF-8"
        case .invalidOption(let key, let reason):
            return "option \(key): \(reason)"
        case .conflictingOptions(let reason):
            return "conflicting options: \(reason)"
        case .invalidSRV(let reason):
            return "invalid mongodb+srv connection string: \(reason)"
        case .invalidAuthMechanism(let found):
            let known = AuthMechanism.allCases.map(\.rawValue).joined(separator: ", ")
            return "authMechanism '\(found)' is not an authentication mechanism: expected one of \(known)"
        case .invalidCredential(let mechanism, let problem):
            let named = mechanism.map { "authMechanism=\($0)" } ?? "the default mechanism (SCRAM-SHA-256 or SCRAM-SHA-1, negotiated)"
            return "invalid credential for \(named): \(problem)" + problem.hint(for: mechanism)
        }
    }
}
