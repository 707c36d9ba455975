import MongoBSON

extension ConnectionOptions {
    /// The uri-options spec's "Conflicting TLS options": these pairs may not both appear,
    /// whatever their values, because each weakens TLS in a different way.
    static let conflictingTLSOptions: [(String, String)] = [
        ("tlsInsecure", "tlsAllowInvalidCertificates"),
        ("tlsInsecure", "tlsAllowInvalidHostnames"),
        ("tlsInsecure", "tlsDisableOCSPEndpointCheck"),
        ("tlsInsecure", "tlsDisableCertificateRevocationCheck"),
        ("tlsAllowInvalidCertificates", "tlsDisableOCSPEndpointCheck"),
        ("tlsAllowInvalidCertificates", "tlsDisableCertificateRevocationCheck"),
        ("tlsDisableOCSPEndpointCheck", "tlsDisableCertificateRevocationCheck"),
    ]

    /// Rules between options alone (the host-dependent ones are in ``ConnectionString``).
    ///
    /// - Parameters:
    ///   - present: normalised keys that appear in the URI, valid value or not (the TLS and
    ///     proxy rules are about presence).
    ///   - tlsValues: every valid value of `tls` and `ssl`.
    func validateOptionConflicts(present: Set<String>, tlsValues: [Bool]) throws(ConnectionStringError) {
        for (a, b) in Self.conflictingTLSOptions
        where present.contains(Self.asciiLowercased(a)) && present.contains(Self.asciiLowercased(b)) {
            throw .conflictingOptions("\(a) and \(b) cannot both be given")
        }
        if Set(tlsValues).count > 1 {
            throw .conflictingOptions("tls and ssl are given with different values; they are aliases and must agree")
        }
        // SOCKS5 spec: the other proxy options need proxyHost; username and password go together.
        if !present.contains("proxyhost") {
            for key in ["proxyPort", "proxyUsername", "proxyPassword"] where present.contains(Self.asciiLowercased(key)) {
                throw .conflictingOptions("\(key) requires proxyHost")
            }
        }
        if present.contains("proxyusername") != present.contains("proxypassword") {
            throw .conflictingOptions("proxyUsername and proxyPassword must be given together")
        }
        // Read/write concern spec: an unacknowledged write cannot wait for the journal.
        if w == .count(0), journal == true {
            throw .conflictingOptions("w=0 (unacknowledged) cannot be used with journal=true")
        }
        // Handshake spec: application.name "MUST NOT exceed 128 bytes"; a longer one would make
        // every handshake fail on the server, so it is refused here.
        if let appName, appName.utf8.count > DriverIdentity.maxApplicationNameBytes {
            throw .invalidOption(key: "appname", reason: "must be at most \(DriverIdentity.maxApplicationNameBytes) bytes of UTF-8, got \(appName.utf8.count)")
        }
        // Auth spec, "Connection String Options": an empty authSource MUST raise an error,
        // with or without credentials.
        if authSource == "" {
            throw .invalidOption(key: "authSource", reason: "must not be empty (leave it out for the mechanism's default)")
        }
        if let minPoolSize, let maxPoolSize, maxPoolSize > 0, minPoolSize > maxPoolSize {
            throw .conflictingOptions("minPoolSize=\(minPoolSize) is greater than maxPoolSize=\(maxPoolSize)")
        }
    }

    /// Rules between options and the host list: the uri-options spec (directConnection), the
    /// load balancer spec's URI validation and the initial DNS seedlist discovery spec's.
    func validate(hosts: [HostIdentifier], isSRV: Bool, present: Set<String>) throws(ConnectionStringError) {
        if directConnection == true {
            if isSRV {
                throw .conflictingOptions("directConnection=true cannot be used with mongodb+srv, which may resolve to several hosts")
            }
            if hosts.count > 1 {
                throw .conflictingOptions("directConnection=true requires exactly one host, found \(hosts.count)")
            }
        }
        if loadBalanced == true {
            if hosts.count > 1 {
                throw .conflictingOptions("loadBalanced=true requires exactly one host, found \(hosts.count)")
            }
            if replicaSet != nil {
                throw .conflictingOptions("loadBalanced=true cannot be used with replicaSet")
            }
            if directConnection == true {
                throw .conflictingOptions("loadBalanced=true cannot be used with directConnection=true")
            }
        }
        if !isSRV {
            for key in ["srvServiceName", "srvMaxHosts"] where present.contains(Self.asciiLowercased(key)) {
                throw .conflictingOptions("\(key) requires the mongodb+srv scheme")
            }
        }
        if let srvMaxHosts, srvMaxHosts > 0 {
            if replicaSet != nil {
                throw .conflictingOptions("srvMaxHosts=\(srvMaxHosts) cannot be used with replicaSet")
            }
            if loadBalanced == true {
                throw .conflictingOptions("srvMaxHosts=\(srvMaxHosts) cannot be used with loadBalanced=true")
            }
        }
    }
}
