import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// One OpenSSL `SSL_CTX`, made once per pool (or per simulated deployment) and shared by every
/// session it makes: the trust store, the certificate and key are loaded once, not per
/// connection.
///
/// Clients: TLS 1.2 or later, the system CA store unless `caFile` names one, peer verification
/// unless `allowInvalidCertificates`, a stapled OCSP response asked for and checked. Servers: the certificate and key of `certificateKeyFile`,
/// optionally asking clients for their certificates, and stapling `ocspResponseFile` when given.
///
/// `@unchecked Sendable`: the context (and `ocspStaple`) is configured in `init` and only read
/// afterwards; OpenSSL makes creating sessions from one `SSL_CTX` on several threads safe (its
/// internal state, the session cache and reference counts, is guarded by OpenSSL's own locks),
/// and the status callback only reads the immutable staple.
public final class TLSContext: @unchecked Sendable {
    public enum Role: Sendable { case client, server }

    public let role: Role
    public let configuration: TLSConfiguration
    let context: OpaquePointer
    /// The server's stapled OCSP response, alive as long as the `SSL_CTX` whose status
    /// callback reads it. Set in `init` only.
    private var ocspStaple: OCSPStaple?

    /// Loads the configuration.
    /// - Throws: `TLSError` of kind `configuration` naming the file that could not be used and
    ///   OpenSSL's reason (a wrong key password says so; the password itself is never shown).
    public init(role: Role, configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(role == .client ? TLS_client_method() : TLS_server_method()) else {
            throw TLSError(kind: .configuration, reason: "SSL_CTX_new failed: \(TLSError.drainErrorQueue())")
        }
        self.context = context
        self.role = role
        self.configuration = configuration
        _ = copenssl_ctx_set_min_tls12(context)
        // Idle connections give their read and write buffers back (about 34 KiB each): a
        // thousand monitored servers hold a thousand idle TLS connections.
        _ = copenssl_ctx_set_mode(context, copenssl_mode_release_buffers())
        switch role {
        case .client:
            try configureClient()
        case .server:
            try configureServer()
        }
    }

    private func configureClient() throws(TLSError) {
        if let caFile = configuration.caFile {
            try Self.checkReadable(caFile, option: "tlsCAFile")
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                throw TLSError(kind: .configuration, reason: "cannot load the CA certificates of tlsCAFile \(caFile): \(TLSError.drainErrorQueue())")
            }
        } else if SSL_CTX_set_default_verify_paths(context) != 1 {
            throw TLSError(kind: .configuration, reason: "cannot load the system's CA certificates: \(TLSError.drainErrorQueue())")
        }
        SSL_CTX_set_verify(context, configuration.allowInvalidCertificates ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nil)
        if let file = configuration.certificateKeyFile {
            try loadCertificateAndKey(file, option: "tlsCertificateKeyFile")
        }
    }

    private func configureServer() throws(TLSError) {
        guard let file = configuration.certificateKeyFile else {
            throw TLSError(kind: .configuration, reason: "a TLS server needs a certificate and key file")
        }
        try loadCertificateAndKey(file, option: "certificate key file")
        if let responseFile = configuration.ocspResponseFile {
            let staple = try OCSPStaple(file: responseFile)
            staple.install(on: context)
            ocspStaple = staple
        }
        // No session tickets: the clients here do not resume, so tickets would be wasted work.
        _ = SSL_CTX_set_num_tickets(context, 0)
        if configuration.requestClientCertificate {
            if let caFile = configuration.caFile {
                try Self.checkReadable(caFile, option: "client CA file")
                guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                    throw TLSError(kind: .configuration, reason: "cannot load the client CA file \(caFile): \(TLSError.drainErrorQueue())")
                }
            }
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        }
    }

    /// The certificate chain and the private key, from one PEM file (MongoDB's format). The key
    /// is read with the password as PEM's passphrase (no callback holds it afterwards).
    private func loadCertificateAndKey(_ file: String, option: String) throws(TLSError) {
        try Self.checkReadable(file, option: option)
        guard SSL_CTX_use_certificate_chain_file(context, file) == 1 else {
            throw TLSError(kind: .configuration, reason: "cannot load a certificate from \(option) \(file): \(TLSError.drainErrorQueue())")
        }
        guard let bio = BIO_new_file(file, "r") else {
            throw TLSError(kind: .configuration, reason: "cannot open \(option) \(file): \(TLSError.drainErrorQueue())")
        }
        defer { BIO_free(bio) }
        var password = Array((configuration.certificateKeyFilePassword ?? "").utf8CString)
        defer { for i in password.indices { password[i] = 0 } }
        let key = password.withUnsafeMutableBytes { raw in
            PEM_read_bio_PrivateKey(bio, nil, nil, configuration.certificateKeyFilePassword == nil ? nil : raw.baseAddress)
        }
        guard let key else {
            let detail = TLSError.drainErrorQueue()
            let hint = configuration.certificateKeyFilePassword == nil
                ? "" : " (is tlsCertificateKeyFilePassword right?)"
            throw TLSError(kind: .configuration, reason: "cannot read the private key of \(option) \(file)\(hint): \(detail)")
        }
        defer { EVP_PKEY_free(key) }
        guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError(kind: .configuration, reason: "the private key of \(option) \(file) does not match its certificate: \(TLSError.drainErrorQueue())")
        }
    }

    static func checkReadable(_ file: String, option: String) throws(TLSError) {
        guard access(file, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw TLSError(kind: .configuration, reason: "cannot read \(option) \(file): \(reason)")
        }
    }

    /// A session for one connection. On the client side `serverName` is the host dialled: SNI
    /// is sent for a host name (never for an IP literal), and the certificate must match the
    /// name or the address unless `allowInvalidHostnames` (or `allowInvalidCertificates`).
    public func makeSession(serverName: String? = nil) throws(TLSError) -> TLSSession {
        try TLSSession(context: self, serverName: serverName)
    }

    deinit { SSL_CTX_free(context) }
}
