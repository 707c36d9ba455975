import MongoBSON

/// An authentication mechanism the auth spec defines. MONGODB-CR (removed in MongoDB 4.0) is
/// not one: `authMechanism=MONGODB-CR` is refused as unknown.
public enum AuthMechanism: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case scramSHA256 = "SCRAM-SHA-256"
    case scramSHA1 = "SCRAM-SHA-1"
    case x509 = "MONGODB-X509"
    case gssapi = "GSSAPI"
    case plain = "PLAIN"
    case aws = "MONGODB-AWS"
    case oidc = "MONGODB-OIDC"

    /// The name as `authMechanism` spells it.
    public var description: String { rawValue }
}

/// Who the client authenticates as, and how: the auth spec's MongoCredential, validated.
///
/// Every value satisfies the spec's rules for its mechanism (required and forbidden fields,
/// the `$external` source, the mechanism properties), so a connector can use it as it is.
/// The password is never shown: `description`, `debugDescription` and the mirror `dump` uses
/// print `***` in its place.
public struct MongoCredential: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The user; nil only where the mechanism allows none (MONGODB-X509, MONGODB-OIDC).
    public let username: String?
    /// nil when none was given ("" when the connection string has `user:@`).
    public let password: String?
    /// The database the authentication commands go to: `$external` for MONGODB-X509, GSSAPI,
    /// MONGODB-AWS and MONGODB-OIDC; otherwise `authSource`, else the connection string's
    /// database, else `admin` (PLAIN: `$external`).
    public let source: String
    /// nil: negotiated in the handshake (`saslSupportedMechs`): SCRAM-SHA-256 when the server
    /// lists it for the user, else SCRAM-SHA-1.
    public let mechanism: AuthMechanism?
    /// By the spec's upper-case names (given in any case), with the spec's defaults filled in
    /// (GSSAPI's `SERVICE_NAME` is "mongodb"); empty for mechanisms that take none.
    public let mechanismProperties: [String: String]

    /// A credential given in code, checked by the same rules as one from a connection string.
    ///
    /// - Parameters:
    ///   - source: the auth database; nil takes the mechanism's default (`admin` for SCRAM and
    ///     negotiation, `$external` for the others).
    ///   - mechanismProperties: names in any case; unknown names are an error.
    /// - Throws: ``ConnectionStringError/invalidCredential(mechanism:problem:)`` naming the rule
    ///   broken (never the password).
    public init(
        username: String? = nil, password: String? = nil, source: String? = nil,
        mechanism: AuthMechanism? = nil, mechanismProperties: [String: String] = [:]
    ) throws(ConnectionStringError) {
        self = try Self.resolve(username: username, password: password, authSource: source, database: nil,
                                mechanism: mechanism, properties: mechanismProperties)
    }

    /// A credential the rules have already accepted.
    init(validatedUsername username: String?, password: String?, source: String,
         mechanism: AuthMechanism?, mechanismProperties: [String: String]) {
        self.username = username
        self.password = password
        self.source = source
        self.mechanism = mechanism
        self.mechanismProperties = mechanismProperties
    }

    /// `MongoCredential(mechanism: SCRAM-SHA-256, username: "alice", password: ***, source: "admin")`.
    public var description: String {
        var parts = ["mechanism: " + (mechanism?.rawValue ?? "negotiated")]
        if let username { parts.append("username: \"\(username)\"") }
        if password != nil { parts.append("password: ***") }
        parts.append("source: \"\(source)\"")
        if !mechanismProperties.isEmpty {
            let properties = mechanismProperties.sorted(by: { $0.key < $1.key }).map { "\($0.key): \($0.value)" }
            parts.append("mechanismProperties: [" + properties.joined(separator: ", ") + "]")
        }
        return "MongoCredential(" + parts.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    /// The fields, with the password as `***`, so `dump` and reflection do not print it.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "username": username as Any, "password": password.map { _ in "***" } as Any, "source": source,
            "mechanism": mechanism as Any, "mechanismProperties": mechanismProperties,
        ], displayStyle: .struct)
    }
}

/// Which of the auth spec's credential rules a credential breaks. No case carries the
/// password; property values appear only for the properties that are choices
/// (`CANONICALIZE_HOST_NAME`, `ENVIRONMENT`).
public enum CredentialProblem: Sendable, Hashable, CustomStringConvertible {
    /// The mechanism needs a username, and none (or "") was given.
    case missingUsername
    /// The mechanism takes no username (MONGODB-AWS; MONGODB-OIDC outside Azure).
    case usernameNotAllowed
    /// The mechanism needs a password, and none was given.
    case missingPassword
    /// The mechanism takes no password (MONGODB-X509, MONGODB-AWS, MONGODB-OIDC).
    case passwordNotAllowed
    /// `authSource` is empty.
    case emptySource
    /// The mechanism authenticates against `$external` only.
    case sourceMustBeExternal(found: String)
    /// A mechanism property the mechanism does not take; `allowed` lists those it does.
    case propertyNotAllowed(name: String, allowed: [String])
    /// The same property twice (names are case-insensitive).
    case duplicateProperty(name: String)
    /// A property value outside the spec's choices.
    case invalidPropertyValue(name: String, value: String, allowed: [String])
    /// A property the mechanism (or, `context`, another property's value) requires.
    case missingProperty(name: String, context: String?)
    /// A property that has no use in `context` (another property's value).
    case propertyNotUsed(name: String, context: String)

    public var description: String {
        switch self {
        case .missingUsername: return "a username is required"
        case .usernameNotAllowed: return "no username may be given"
        case .missingPassword: return "a password is required"
        case .passwordNotAllowed: return "no password may be given"
        case .emptySource: return "authSource must not be empty"
        case .sourceMustBeExternal(let found): return "the auth source must be $external, found '\(found)'"
        case .propertyNotAllowed(let name, let allowed):
            let takes = allowed.isEmpty ? "it takes no mechanism properties" : "it takes " + allowed.joined(separator: ", ")
            return "unsupported mechanism property '\(name)' (\(takes))"
        case .duplicateProperty(let name): return "mechanism property \(name) is given twice (names are case-insensitive)"
        case .invalidPropertyValue(let name, let value, let allowed):
            return "mechanism property \(name) is '\(value)', expected one of " + allowed.joined(separator: ", ")
        case .missingProperty(let name, let context):
            return "mechanism property \(name) is required" + (context.map { " with \($0)" } ?? "")
        case .propertyNotUsed(let name, let context): return "mechanism property \(name) has no use with \(context)"
        }
    }

    /// What to do instead, where the mechanism makes it specific ("" otherwise).
    func hint(for mechanism: AuthMechanism?) -> String {
        switch (mechanism, self) {
        case (.aws?, .usernameNotAllowed), (.aws?, .passwordNotAllowed), (.aws?, .propertyNotAllowed):
            return "; MONGODB-AWS takes its credentials from the environment or the AWS SDK, never from the connection string"
        case (.oidc?, .usernameNotAllowed):
            return "; of the MONGODB-OIDC environments only azure uses a username (the managed identity's client ID)"
        case (.oidc?, .missingProperty(name: "ENVIRONMENT", _)):
            return "; this driver takes no OIDC callback, so ENVIRONMENT (test, azure, gcp or k8s) must be given"
        case (.x509?, .passwordNotAllowed):
            return "; the client certificate (tlsCertificateKeyFile) is the proof of identity"
        default:
            return ""
        }
    }
}
