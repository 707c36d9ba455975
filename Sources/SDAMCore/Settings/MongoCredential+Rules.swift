import MongoBSON

// The auth spec's rules: each mechanism's "MongoCredential Properties" and the "Connection
// String Options" section.

extension MongoCredential {
    /// What one mechanism requires of each field.
    struct Rules {
        enum Field { case required, optional, forbidden }
        enum Source {
            /// Only `$external`, which is also the default.
            case external
            /// `authSource`, else the connection string's database, else this.
            case databaseOr(String)
        }

        var username: Field
        var password: Field
        var source: Source
        /// The mechanism properties it takes, by the spec's names.
        var properties: [String] = []

        static func of(_ mechanism: AuthMechanism?) -> Rules {
            switch mechanism {
            case nil, .scramSHA1?, .scramSHA256?:
                return Rules(username: .required, password: .required, source: .databaseOr("admin"))
            case .x509?:
                return Rules(username: .optional, password: .forbidden, source: .external)
            case .gssapi?:
                return Rules(username: .required, password: .optional, source: .external,
                             properties: ["SERVICE_NAME", "CANONICALIZE_HOST_NAME", "SERVICE_REALM", "SERVICE_HOST"])
            case .plain?:
                return Rules(username: .required, password: .required, source: .databaseOr("$external"))
            case .aws?:
                // Since 2025-09: credentials come from the environment, never the URI or options.
                return Rules(username: .forbidden, password: .forbidden, source: .external)
            case .oidc?:
                // ALLOWED_HOSTS and the callbacks are not connection-string properties.
                return Rules(username: .optional, password: .forbidden, source: .external,
                             properties: ["ENVIRONMENT", "TOKEN_RESOURCE"])
            }
        }
    }

    static let canonicalizeHostNameValues = ["none", "forward", "forwardAndReverse", "true", "false"]
    static let oidcEnvironments = ["test", "azure", "gcp", "k8s"]

    /// Applies the rules for `mechanism` and fills in the defaults.
    ///
    /// - Parameters:
    ///   - authSource: the `authSource` option (or the source given in code).
    ///   - database: the connection string's database, the default source of some mechanisms.
    static func resolve(
        username: String?, password: String?, authSource: String?, database: String?,
        mechanism: AuthMechanism?, properties given: [String: String]
    ) throws(ConnectionStringError) -> MongoCredential {
        func problem(_ problem: CredentialProblem) -> ConnectionStringError {
            .invalidCredential(mechanism: mechanism, problem: problem)
        }
        let rules = Rules.of(mechanism)
        var properties: [String: String] = [:]
        for (name, value) in given.sorted(by: { $0.key < $1.key }) {
            let lowered = ConnectionOptions.asciiLowercased(name)
            guard let canonical = rules.properties.first(where: { ConnectionOptions.asciiLowercased($0) == lowered }) else {
                throw problem(.propertyNotAllowed(name: name, allowed: rules.properties))
            }
            guard properties[canonical] == nil else { throw problem(.duplicateProperty(name: canonical)) }
            properties[canonical] = value
        }
        switch rules.username {
        case .required where (username ?? "").isEmpty: throw problem(.missingUsername)
        case .forbidden where username != nil: throw problem(.usernameNotAllowed)
        default: break
        }
        switch rules.password {
        case .required where password == nil: throw problem(.missingPassword)
        case .forbidden where password != nil: throw problem(.passwordNotAllowed)
        default: break
        }
        if authSource == "" { throw problem(.emptySource) }
        let source: String
        switch rules.source {
        case .external:
            if let authSource, authSource != "$external" { throw problem(.sourceMustBeExternal(found: authSource)) }
            source = "$external"
        case .databaseOr(let fallback):
            source = authSource ?? database ?? fallback
        }
        switch mechanism {
        case .gssapi?:
            if let mode = properties["CANONICALIZE_HOST_NAME"], !canonicalizeHostNameValues.contains(mode) {
                throw problem(.invalidPropertyValue(name: "CANONICALIZE_HOST_NAME", value: mode, allowed: canonicalizeHostNameValues))
            }
            if properties["SERVICE_NAME"] == nil { properties["SERVICE_NAME"] = "mongodb" }
        case .oidc?:
            guard let environment = properties["ENVIRONMENT"] else {
                throw problem(.missingProperty(name: "ENVIRONMENT", context: nil))
            }
            guard oidcEnvironments.contains(environment) else {
                throw problem(.invalidPropertyValue(name: "ENVIRONMENT", value: environment, allowed: oidcEnvironments))
            }
            let takesResource = environment == "azure" || environment == "gcp"
            if takesResource, properties["TOKEN_RESOURCE"] == nil {
                throw problem(.missingProperty(name: "TOKEN_RESOURCE", context: "ENVIRONMENT:\(environment)"))
            }
            if !takesResource, properties["TOKEN_RESOURCE"] != nil {
                throw problem(.propertyNotUsed(name: "TOKEN_RESOURCE", context: "ENVIRONMENT:\(environment)"))
            }
            if environment != "azure", username != nil { throw problem(.usernameNotAllowed) }
        default:
            break
        }
        return MongoCredential(validatedUsername: username, password: password, source: source,
                               mechanism: mechanism, mechanismProperties: properties)
    }
}

extension ConnectionString {
    /// Whether the connection string asks for authentication: userinfo (the auth spec's
    /// "credential delimiter implies authentication"), `authMechanism` or
    /// `authMechanismProperties`. The database and `authSource` alone do not.
    var configuresCredential: Bool {
        username != nil || options.authMechanism != nil || options.authMechanismProperties != nil
    }

    /// The credential the connection string configures, or nil when it asks for no
    /// authentication (no userinfo, no `authMechanism`, no `authMechanismProperties`).
    ///
    /// Parsing checks the syntax; this applies the auth spec's rules for the mechanism (a
    /// client configured in code could add what a string lacks, such as an OIDC callback), so
    /// `ClientSettings(connectionString:)` is where they first throw.
    ///
    /// - Throws: ``ConnectionStringError/invalidAuthMechanism(found:)`` for an unknown
    ///   mechanism name; ``ConnectionStringError/invalidCredential(mechanism:problem:)`` for a
    ///   broken rule. Neither contains the password.
    public var credential: MongoCredential? {
        get throws(ConnectionStringError) {
            guard configuresCredential else { return nil }
            var mechanism: AuthMechanism?
            if let name = options.authMechanism {
                guard let known = AuthMechanism(rawValue: name) else { throw .invalidAuthMechanism(found: name) }
                mechanism = known
            }
            return try MongoCredential.resolve(
                username: username, password: password, authSource: options.authSource, database: authDatabase,
                mechanism: mechanism, properties: options.authMechanismProperties ?? [:])
        }
    }
}
