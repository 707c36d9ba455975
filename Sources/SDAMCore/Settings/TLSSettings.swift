import MongoBSON

/// How connections use TLS, from the uri-options spec's `tls*` options. A client has these
/// settings only when TLS is on (`ClientSettings.tls` is nil for plaintext), so every field
/// describes a TLS connection.
///
/// TLS is on with `tls=true` (or its alias `ssl=true`) and with the `mongodb+srv` scheme
/// unless `tls=false` is given. Other `tls*` options never turn it on by themselves (the
/// uri-options spec leaves that to drivers): given without TLS, they are refused at pool
/// creation rather than ignored.
///
/// Every relaxation is off unless asked for. `tlsInsecure=true` sets
/// ``allowInvalidCertificates``, ``allowInvalidHostnames`` and ``disableOCSPEndpointCheck``;
/// `tlsAllowInvalidCertificates=true` also disables the OCSP endpoint check (OCSP support
/// spec). The spec's conflicting pairs are rejected when the connection string is parsed.
///
/// The key file password is never shown: `description`, `debugDescription` and the mirror
/// print `***` in its place.
public struct TLSSettings: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// PEM file of the certificate authorities to trust (`tlsCAFile`); nil: the system's.
    public var caFile: String?
    /// PEM file with the client certificate and its private key (`tlsCertificateKeyFile`).
    public var certificateKeyFile: String?
    /// Decrypts the private key in ``certificateKeyFile`` (`tlsCertificateKeyFilePassword`).
    public var certificateKeyFilePassword: String?
    /// Accept a server certificate that does not verify (`tlsAllowInvalidCertificates`,
    /// `tlsInsecure`).
    public var allowInvalidCertificates: Bool
    /// Accept a server certificate issued for another host name (`tlsAllowInvalidHostnames`,
    /// `tlsInsecure`).
    public var allowInvalidHostnames: Bool
    /// Do not ask OCSP responders about the server certificate (`tlsDisableOCSPEndpointCheck`;
    /// implied by `tlsInsecure` and `tlsAllowInvalidCertificates`).
    public var disableOCSPEndpointCheck: Bool
    /// Do not check the server certificate's revocation at all, by CRL or OCSP
    /// (`tlsDisableCertificateRevocationCheck`).
    public var disableCertificateRevocationCheck: Bool

    /// TLS with every check on unless relaxed here.
    public init(
        caFile: String? = nil, certificateKeyFile: String? = nil, certificateKeyFilePassword: String? = nil,
        allowInvalidCertificates: Bool = false, allowInvalidHostnames: Bool = false,
        disableOCSPEndpointCheck: Bool = false, disableCertificateRevocationCheck: Bool = false
    ) {
        self.caFile = caFile
        self.certificateKeyFile = certificateKeyFile
        self.certificateKeyFilePassword = certificateKeyFilePassword
        self.allowInvalidCertificates = allowInvalidCertificates
        self.allowInvalidHostnames = allowInvalidHostnames
        self.disableOCSPEndpointCheck = disableOCSPEndpointCheck
        self.disableCertificateRevocationCheck = disableCertificateRevocationCheck
    }

    /// The TLS settings a connection string asks for, or nil when its connections are
    /// plaintext (see ``ConnectionString/usesTLS``).
    public init?(connectionString: ConnectionString) {
        guard connectionString.usesTLS else { return nil }
        let options = connectionString.options
        let insecure = options.tlsInsecure == true
        let allowInvalidCertificates = insecure || options.tlsAllowInvalidCertificates == true
        self.init(
            caFile: options.tlsCAFile,
            certificateKeyFile: options.tlsCertificateKeyFile,
            certificateKeyFilePassword: options.tlsCertificateKeyFilePassword,
            allowInvalidCertificates: allowInvalidCertificates,
            allowInvalidHostnames: insecure || options.tlsAllowInvalidHostnames == true,
            disableOCSPEndpointCheck: allowInvalidCertificates || options.tlsDisableOCSPEndpointCheck == true,
            disableCertificateRevocationCheck: options.tlsDisableCertificateRevocationCheck == true)
    }

    /// `TLSSettings(caFile: "ca.pem", allowInvalidHostnames)`: the files and the relaxations
    /// in effect, the key file password as `***`.
    public var description: String {
        var parts: [String] = []
        if let caFile { parts.append("caFile: \"\(caFile)\"") }
        if let certificateKeyFile { parts.append("certificateKeyFile: \"\(certificateKeyFile)\"") }
        if certificateKeyFilePassword != nil { parts.append("certificateKeyFilePassword: ***") }
        let relaxed: [(String, Bool)] = [
            ("allowInvalidCertificates", allowInvalidCertificates), ("allowInvalidHostnames", allowInvalidHostnames),
            ("disableOCSPEndpointCheck", disableOCSPEndpointCheck),
            ("disableCertificateRevocationCheck", disableCertificateRevocationCheck),
        ]
        parts += relaxed.filter(\.1).map(\.0)
        return "TLSSettings(" + parts.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    /// The fields, with the key file password as `***`.
    public var customMirror: Mirror {
        Mirror(self, children: [
            "caFile": caFile as Any, "certificateKeyFile": certificateKeyFile as Any,
            "certificateKeyFilePassword": certificateKeyFilePassword.map { _ in "***" } as Any,
            "allowInvalidCertificates": allowInvalidCertificates, "allowInvalidHostnames": allowInvalidHostnames,
            "disableOCSPEndpointCheck": disableOCSPEndpointCheck,
            "disableCertificateRevocationCheck": disableCertificateRevocationCheck,
        ], displayStyle: .struct)
    }
}
