import MongoBSON

/// What this driver does with each connection-string option it parses, decided when a pool is
/// created ("nothing silently ignored"): an option is in effect, or refused with an error, or
/// accepted with a warning that names it.
///
/// - Refused: options whose neglect would weaken what the user asked for — credentials and
///   authentication, `timeoutMS`, a SOCKS5 proxy.
/// - TLS is in effect: `tls`/`ssl`, `tlsCAFile`, `tlsCertificateKeyFile`,
///   `tlsCertificateKeyFilePassword`, `tlsAllowInvalidCertificates`, `tlsAllowInvalidHostnames`,
///   `tlsInsecure`. This driver checks no certificate revocation (no OCSP, no CRL), so the two
///   options that turn those checks off are accepted with a warning that says so.
/// - Warned: options with no effect on `runCommand` (the command carries its own read and write
///   concerns: RunCommand spec) or of features not built yet (retryable reads and writes,
///   compression), and `serverSelectionTryOnce`, which only single-threaded clients read.
/// - Everything else is in effect (see the README's options table).
public enum OptionSupport {
    /// Why the pool cannot be created for this connection string, or nil.
    /// The text names options, never their values (a password or key file never appears).
    public static func refusal(for connectionString: ConnectionString) -> String? {
        let options = connectionString.options
        var refused: [String] = []
        if connectionString.username != nil || connectionString.password != nil {
            refused.append("credentials in the connection string (authentication is not implemented yet; refusing rather than connect unauthenticated)")
        }
        if options.authMechanism != nil || options.authMechanismProperties != nil {
            refused.append("authMechanism/authMechanismProperties (authentication is not implemented yet)")
        }
        if options.timeoutMS != nil {
            refused.append("timeoutMS (client-side operation timeouts are not implemented yet; use socketTimeoutMS and serverSelectionTimeoutMS)")
        }
        if options.proxyHost != nil || options.proxyPort != nil || options.proxyUsername != nil || options.proxyPassword != nil {
            refused.append("proxyHost/proxyPort/proxyUsername/proxyPassword (SOCKS5 proxies are not implemented)")
        }
        guard !refused.isEmpty else { return nil }
        return "options this driver cannot honour: " + refused.joined(separator: "; ")
    }

    /// Options accepted with no effect, by name, with the reason (logged once each at pool
    /// creation).
    public static func warnings(for connectionString: ConnectionString) -> [String] {
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
        let revocation: [(String, Bool)] = [
            ("tlsDisableOCSPEndpointCheck", options.tlsDisableOCSPEndpointCheck != nil),
            ("tlsDisableCertificateRevocationCheck", options.tlsDisableCertificateRevocationCheck != nil),
        ]
        for (name, given) in revocation where given {
            warnings.append("\(name) has no effect: this driver does not check certificate revocation (no OCSP, no CRL) in any case")
        }
        if options.serverSelectionTryOnce != nil {
            warnings.append("serverSelectionTryOnce has no effect on a pooled client (it is a single-threaded option)")
        }
        if options.authSource != nil {
            warnings.append("authSource has no effect: authentication is not implemented yet and no credentials were given")
        }
        return warnings
    }
}
