import MongoBSON

/// What this driver does with each connection-string option it parses, decided when a pool is
/// created ("nothing silently ignored"): an option is in effect, or refused with an error, or
/// accepted with a warning that names it.
///
/// - `mongodb+srv://` is in effect: its seeds, and the TXT record's options, come from DNS in
///   the background (`SRVSeedlist`), with TLS on unless `tls=false` is given.
/// - Refused: options whose neglect would weaken what the user asked for — `timeoutMS`, a
///   SOCKS5 proxy, `tls*` options without TLS, MONGODB-X509 without a client certificate
///   — and, for good, the mechanisms this driver will not implement (GSSAPI, PLAIN,
///   MONGODB-AWS, MONGODB-OIDC).
/// - TLS is in effect: `tls`/`ssl`, `tlsCAFile`, `tlsCertificateKeyFile`,
///   `tlsCertificateKeyFilePassword`, `tlsAllowInvalidCertificates`, `tlsAllowInvalidHostnames`,
///   `tlsInsecure`, `tlsDisableCertificateRevocationCheck` (turns off the check of stapled OCSP
///   responses, the only revocation check made). No OCSP responder is ever contacted (no
///   endpoint check), so `tlsDisableOCSPEndpointCheck` is accepted with a warning that says so.
/// - Warned: options with no effect on `runCommand` (the command carries its own read and write
///   concerns: RunCommand spec) or of features not built yet (retryable reads and writes,
///   compression); `serverSelectionTryOnce` and `socketCheckIntervalMS` on a pooled client
///   (only single-threaded clients read them); on a single-threaded client the connection pool
///   options and `serverMonitoringMode` (it has one connection per server and always polls).
/// - Everything else is in effect (see the README's options table).
public enum OptionSupport {
    /// What works today. Lifting a "not implemented yet" refusal is one line here.
    struct Implemented: Sendable {
        /// TLS connections work (MongoTLS).
        static let tls = true
        /// SCRAM-SHA-256 and SCRAM-SHA-1 (negotiation, `mechanism` nil, needs both) and
        /// MONGODB-X509 authenticate application connections (MongoAuth). An array, not a
        /// set: every `ClientPool(uri:)` reads it, and the first `Set<AuthMechanism>` of a
        /// process makes the Swift runtime scan every protocol conformance (about 0.1 ms).
        static let mechanisms: [AuthMechanism] = [.scramSHA256, .scramSHA1, .x509]

        static let current = Implemented(tls: tls, mechanisms: mechanisms)

        var tls: Bool
        var mechanisms: [AuthMechanism]
    }

    /// The mechanisms this driver authenticates with (or will): the others of the auth spec
    /// (GSSAPI, PLAIN, MONGODB-AWS, MONGODB-OIDC) are refused for good.
    public static let supportedMechanisms: [AuthMechanism] = [.scramSHA256, .scramSHA1, .x509]

    /// Why the pool cannot be created for this connection string, or nil.
    /// The text names options, never their values (a password or key file never appears).
    public static func refusal(for connectionString: ConnectionString) -> String? {
        refusal(for: connectionString, implemented: .current)
    }

    static func refusal(for connectionString: ConnectionString, implemented: Implemented) -> String? {
        let options = connectionString.options
        var refused = tlsRefusals(connectionString, implemented: implemented)
        refused += credentialRefusals(connectionString, implemented: implemented)
        if options.timeoutMS != nil {
            refused.append("timeoutMS (client-side operation timeouts are not implemented yet; use socketTimeoutMS and serverSelectionTimeoutMS)")
        }
        if options.proxyHost != nil || options.proxyPort != nil || options.proxyUsername != nil || options.proxyPassword != nil {
            refused.append("proxyHost/proxyPort/proxyUsername/proxyPassword (SOCKS5 proxies are not implemented)")
        }
        guard !refused.isEmpty else { return nil }
        return "options this driver cannot honour: " + refused.joined(separator: "; ")
    }

    /// TLS asked for before it works; `tls*` options on a plaintext connection, which would be
    /// ignored (TLS is never turned on by them implicitly).
    private static func tlsRefusals(_ connectionString: ConnectionString, implemented: Implemented) -> [String] {
        let options = connectionString.options
        let tlsOptions: [(String, Bool)] = [
            ("tlsCAFile", options.tlsCAFile != nil), ("tlsCertificateKeyFile", options.tlsCertificateKeyFile != nil),
            ("tlsCertificateKeyFilePassword", options.tlsCertificateKeyFilePassword != nil),
            ("tlsAllowInvalidCertificates", options.tlsAllowInvalidCertificates != nil),
            ("tlsAllowInvalidHostnames", options.tlsAllowInvalidHostnames != nil), ("tlsInsecure", options.tlsInsecure != nil),
            ("tlsDisableOCSPEndpointCheck", options.tlsDisableOCSPEndpointCheck != nil),
            ("tlsDisableCertificateRevocationCheck", options.tlsDisableCertificateRevocationCheck != nil),
        ]
        let givenTLS = tlsOptions.filter(\.1).map(\.0)
        let asksForTLS = connectionString.usesTLS
        var refused: [String] = []
        if !implemented.tls {
            if asksForTLS {
                refused.append("tls=true (TLS is not implemented yet; this driver refuses rather than connect in plaintext)")
            } else if !givenTLS.isEmpty {
                refused.append(givenTLS.joined(separator: ", ") + " (TLS is not implemented yet)")
            }
        } else if !connectionString.usesTLS, !givenTLS.isEmpty {
            refused.append(givenTLS.joined(separator: ", ") + " without TLS (TLS is on only with tls=true or mongodb+srv; add tls=true)")
        }
        return refused
    }

    /// Mechanisms never to be implemented, those not implemented yet, and MONGODB-X509 without
    /// a client certificate. An invalid credential is named by its error (which never holds
    /// the password); `ClientSettings` throws it first.
    private static func credentialRefusals(_ connectionString: ConnectionString, implemented: Implemented) -> [String] {
        let credential: MongoCredential?
        do {
            credential = try connectionString.credential
        } catch {
            return [error.description]
        }
        guard let credential else { return [] }
        if let mechanism = credential.mechanism, !supportedMechanisms.contains(mechanism) {
            let supported = supportedMechanisms.map(\.rawValue).joined(separator: ", ")
            return ["authMechanism=\(mechanism) is not supported by this driver; supported: \(supported)"]
        }
        var refused: [String] = []
        let needed: [AuthMechanism] = credential.mechanism.map { [$0] } ?? [.scramSHA256, .scramSHA1]
        if !needed.allSatisfy(implemented.mechanisms.contains) {
            if connectionString.username != nil {
                refused.append("credentials in the connection string (authentication is not implemented yet; refusing rather than connect unauthenticated)")
            }
            if connectionString.options.authMechanism != nil || connectionString.options.authMechanismProperties != nil {
                refused.append("authMechanism/authMechanismProperties (authentication is not implemented yet)")
            }
        }
        if credential.mechanism == .x509, !connectionString.usesTLS || connectionString.options.tlsCertificateKeyFile == nil {
            refused.append("authMechanism=MONGODB-X509 without a client certificate (it needs tls=true and tlsCertificateKeyFile)")
        }
        return refused
    }

    /// Options accepted with no effect, by name, with the reason (logged once each at pool
    /// creation).
    public static func warnings(for connectionString: ConnectionString, client: ClientKind = .pooled) -> [String] {
        let options = connectionString.options
        var warnings: [String] = []
        let noEffectOnRunCommand: [(String, Bool)] = [
            ("w", options.w != nil), ("journal", options.journal != nil), ("wtimeoutMS", options.wTimeoutMS != nil),
            ("readConcernLevel", options.readConcernLevel != nil),
        ]
        for (name, given) in noEffectOnRunCommand where given {
            warnings.append("\(name) has no effect: runCommand sends the command as given (put the concern in the command)")
        }
        let notBuilt: [(String, Bool)] = [
            ("retryWrites", options.retryWrites != nil), ("retryReads", options.retryReads != nil),
            ("compressors", options.compressors != nil), ("zlibCompressionLevel", options.zlibCompressionLevel != nil),
        ]
        for (name, given) in notBuilt where given {
            warnings.append("\(name) has no effect yet: that feature is not built (overload retries do apply)")
        }
        if options.tlsDisableOCSPEndpointCheck != nil {
            warnings.append("tlsDisableOCSPEndpointCheck has no effect: this driver never contacts OCSP responders (it checks stapled OCSP responses only)")
        }
        switch client {
        case .pooled:
            let singleThreaded: [(String, Bool)] = [
                ("serverSelectionTryOnce", options.serverSelectionTryOnce != nil),
                ("socketCheckIntervalMS", options.socketCheckIntervalMS != nil),
            ]
            for (name, given) in singleThreaded where given {
                warnings.append("\(name) has no effect on a pooled client (it is a single-threaded option)")
            }
        case .singleThreaded:
            let pooled: [(String, Bool)] = [
                ("maxPoolSize", options.maxPoolSize != nil), ("minPoolSize", options.minPoolSize != nil),
                ("maxIdleTimeMS", options.maxIdleTimeMS != nil), ("waitQueueTimeoutMS", options.waitQueueTimeoutMS != nil),
                ("maxConnecting", options.maxConnecting != nil),
            ]
            for (name, given) in pooled where given {
                warnings.append("\(name) has no effect on a single-threaded client (it has one connection per server, no pool)")
            }
            if options.serverMonitoringMode != nil {
                warnings.append("serverMonitoringMode has no effect on a single-threaded client (it always polls, in its scans)")
            }
        }
        if options.authSource != nil, !connectionString.configuresCredential {
            warnings.append("authSource has no effect without credentials (no username or authMechanism is given)")
        }
        return warnings
    }
}
