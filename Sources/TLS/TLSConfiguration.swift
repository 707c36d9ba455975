/// What a TLS context is made from, for either side of a connection.
///
/// The client side carries the connection string's TLS options; the server side (the test
/// simulator) carries its certificate and, to accept client certificates, the CA that issued them.
public struct TLSConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// PEM file of CA certificates to trust; nil trusts the system store (client side).
    /// On the server side, the CA that client certificates must chain to.
    public var caFile: String?
    /// PEM file holding a certificate (with its chain) and its private key: the client
    /// certificate (`tlsCertificateKeyFile`), or the server's own.
    public var certificateKeyFile: String?
    /// The password of an encrypted private key in `certificateKeyFile`. Never printed.
    public var certificateKeyFilePassword: String?
    /// Accept any certificate (`tlsAllowInvalidCertificates`): encryption without identity.
    public var allowInvalidCertificates: Bool
    /// Accept a valid certificate for another host (`tlsAllowInvalidHostnames`).
    public var allowInvalidHostnames: Bool
    /// Server side: ask clients for a certificate and verify it against `caFile` when given
    /// (a client without one is still accepted; X.509 authentication then fails).
    public var requestClientCertificate: Bool
    /// Client side: check the OCSP response the server staples, and require one from a
    /// Must-Staple certificate (see `TLSSession.handshake()`); off with
    /// `tlsDisableCertificateRevocationCheck`. Without verification (`allowInvalidCertificates`)
    /// nothing is checked either way.
    public var checkRevocation: Bool
    /// Server side: a DER-encoded OCSP response stapled to every handshake whose client asks
    /// for one (the status_request extension). Read once, when the context is made.
    public var ocspResponseFile: String?

    public init(
        caFile: String? = nil,
        certificateKeyFile: String? = nil,
        certificateKeyFilePassword: String? = nil,
        allowInvalidCertificates: Bool = false,
        allowInvalidHostnames: Bool = false,
        requestClientCertificate: Bool = false,
        checkRevocation: Bool = true,
        ocspResponseFile: String? = nil
    ) {
        self.caFile = caFile
        self.certificateKeyFile = certificateKeyFile
        self.certificateKeyFilePassword = certificateKeyFilePassword
        self.allowInvalidCertificates = allowInvalidCertificates
        self.allowInvalidHostnames = allowInvalidHostnames
        self.requestClientCertificate = requestClientCertificate
        self.checkRevocation = checkRevocation
        self.ocspResponseFile = ocspResponseFile
    }

    public var description: String {
        var parts: [String] = []
        if let caFile { parts.append("caFile: \(caFile)") }
        if let certificateKeyFile { parts.append("certificateKeyFile: \(certificateKeyFile)") }
        if certificateKeyFilePassword != nil { parts.append("certificateKeyFilePassword: ***") }
        if allowInvalidCertificates { parts.append("allowInvalidCertificates") }
        if allowInvalidHostnames { parts.append("allowInvalidHostnames") }
        if requestClientCertificate { parts.append("requestClientCertificate") }
        if !checkRevocation { parts.append("checkRevocation: false") }
        if let ocspResponseFile { parts.append("ocspResponseFile: \(ocspResponseFile)") }
        return "TLSConfiguration(" + parts.joined(separator: ", ") + ")"
    }
}
