import COpenSSL

// MARK: - Client: checking the stapled response

extension TLSSession {
    /// How far ahead of this machine's clock a stapled response's thisUpdate may be (the
    /// responder's, the server's and this clock are not in step). nextUpdate gets no leeway:
    /// the OCSP support spec's Q&A refuses a tolerance period after it.
    static let ocspClockSkewSeconds = 300

    /// The OCSP check of a client handshake, made once it is complete, when certificates are
    /// verified (not `allowInvalidCertificates`) and `checkRevocation` is on: the OCSP support
    /// spec's "Suggested OCSP Behavior", steps 1 to 3 and 10, and RFC 6960 3.2's checks of a
    /// response.
    ///
    /// Stapled responses only; no responder is contacted (step 7, the endpoint check, is not
    /// implemented, and there is no OCSP cache or CRL either); tlsDisableOCSPEndpointCheck is
    /// therefore accepted with a warning by OptionSupport.
    ///
    /// - A staple is checked: a successful response, signed by the certificate's issuer or by a
    ///   responder it delegated to (extendedKeyUsage OCSPSigning) whose chain verifies against
    ///   the context's trust store, with a status for the server's certificate, current
    ///   (thisUpdate at most `ocspClockSkewSeconds` ahead, nextUpdate not passed). Revoked
    ///   fails; good passes; unknown passes (not conclusive: soft fail). Any other defect
    ///   fails.
    /// - No staple: a Must-Staple certificate (RFC 7633's TLS Feature extension listing
    ///   status_request) fails; any other passes (soft fail: the revocation status stays
    ///   unknown, as when a responder is down).
    ///
    /// Every failure is `certificateRejected`: the server is misconfigured or its certificate
    /// is revoked, and retrying will not help.
    func checkStapledOCSPResponse() throws(TLSError) {
        ERR_clear_error()
        defer { ERR_clear_error() }
        // Verification succeeded, so the peer sent a certificate.
        guard let leaf = SSL_get0_peer_certificate(ssl) else { return }
        var der: UnsafePointer<UInt8>?
        let length = copenssl_stapled_ocsp(ssl, &der)
        guard length > 0, let der else {
            switch copenssl_requires_ocsp_staple(leaf) {
            case 0: return
            case 1: throw Self.rejected("the certificate requires a stapled OCSP response (Must-Staple) and none was sent")
            default: throw Self.rejected("the certificate's TLS Feature extension (Must-Staple) cannot be read: \(TLSError.drainErrorQueue())")
            }
        }
        var cursor: UnsafePointer<UInt8>? = der
        guard let response = d2i_OCSP_RESPONSE(nil, &cursor, length) else {
            throw Self.rejected("the stapled OCSP response cannot be parsed: \(TLSError.drainErrorQueue())")
        }
        defer { OCSP_RESPONSE_free(response) }
        let responseStatus = OCSP_response_status(response)
        guard responseStatus == copenssl_ocsp_response_status_successful() else {
            let text = String(cString: OCSP_response_status_str(Int(responseStatus)))
            throw Self.rejected("the stapled OCSP response is not a successful one (its status is \(text))")
        }
        guard let basic = OCSP_response_get1_basic(response) else {
            throw Self.rejected("the stapled OCSP response holds no basic response: \(TLSError.drainErrorQueue())")
        }
        defer { OCSP_BASICRESP_free(basic) }
        // The peer's chain serves as untrusted intermediates; only the trust store is trusted.
        guard OCSP_basic_verify(basic, SSL_get_peer_cert_chain(ssl), SSL_CTX_get_cert_store(context.context), 0) == 1 else {
            throw Self.rejected("the stapled OCSP response is not signed by a trusted responder for the certificate's issuer: \(TLSError.drainErrorQueue())")
        }
        let chain = SSL_get0_verified_chain(ssl)
        guard copenssl_ssl_chain_count(chain) >= 2, let issuer = copenssl_ssl_chain_at(chain, 1) else {
            throw Self.rejected("the stapled OCSP response cannot be matched to the certificate: its issuer is not in the verified chain")
        }
        guard let single = Self.status(in: basic, of: leaf, issuedBy: issuer) else {
            throw Self.rejected("the stapled OCSP response does not cover the server's certificate")
        }
        guard OCSP_check_validity(single.thisUpdate, single.nextUpdate, Self.ocspClockSkewSeconds, -1) == 1 else {
            throw Self.rejected("the stapled OCSP response is not current: \(TLSError.drainErrorQueue())")
        }
        if let nextUpdate = single.nextUpdate, X509_cmp_time(nextUpdate, nil) != 1 {
            throw Self.rejected("the stapled OCSP response is not current: its nextUpdate has passed")
        }
        if single.status == copenssl_ocsp_cert_status_revoked() {
            throw Self.rejected("the stapled OCSP response says the certificate was revoked")
        }
    }

    private static func rejected(_ reason: String) -> TLSError {
        TLSError(kind: .certificateRejected, reason: reason)
    }

    private typealias SingleStatus = (
        status: Int32,
        thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?,
        nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
    )

    /// The leaf's status in `basic` (whose times stay valid while `basic` lives), or nil when
    /// the response does not name it. A CertID is hashed with the digest the responder chose
    /// (RFC 6960 4.1.1), so the leaf's is computed with each digest the response uses.
    private static func status(in basic: OpaquePointer, of leaf: OpaquePointer, issuedBy issuer: OpaquePointer) -> SingleStatus? {
        var digests: [OpaquePointer] = []
        for index in 0..<OCSP_resp_count(basic) {
            var object: OpaquePointer?
            guard let single = OCSP_resp_get0(basic, index), let id = OCSP_SINGLERESP_get0_id(single),
                  OCSP_id_get0_info(nil, &object, nil, nil, id) == 1,
                  let digest = copenssl_digest_by_object(object) else { continue }
            if !digests.contains(digest) { digests.append(digest) }
        }
        for digest in digests {
            guard let id = OCSP_cert_to_id(digest, leaf, issuer) else { continue }
            defer { OCSP_CERTID_free(id) }
            var status: Int32 = -1
            var reason: Int32 = -1
            var revokedAt: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
            var thisUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
            var nextUpdate: UnsafeMutablePointer<ASN1_GENERALIZEDTIME>?
            if OCSP_resp_find_status(basic, id, &status, &reason, &revokedAt, &thisUpdate, &nextUpdate) == 1 {
                return (status, thisUpdate, nextUpdate)
            }
        }
        return nil
    }
}

// MARK: - Server: stapling a response

/// The DER bytes of the OCSP response a server context staples (`ocspResponseFile`), read
/// once. The context holds it for its whole life and hands OpenSSL its address as the status
/// callback's argument; every session holds its context, so no handshake outlives the bytes.
///
/// Sendable: immutable after `init`.
final class OCSPStaple: Sendable {
    let der: [UInt8]

    /// Reads and parses the file (a file that is not a DER OCSP response is refused here, not
    /// stapled to every handshake).
    init(file: String) throws(TLSError) {
        try TLSContext.checkReadable(file, option: "OCSP response file")
        guard let bio = BIO_new_file(file, "rb") else {
            throw TLSError(kind: .configuration, reason: "cannot open the OCSP response file \(file): \(TLSError.drainErrorQueue())")
        }
        defer { BIO_free(bio) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32($0.count)) }
            guard n > 0 else { break }
            bytes += chunk[0..<Int(n)]
        }
        let parsed = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var cursor = buffer.baseAddress
            guard let response = d2i_OCSP_RESPONSE(nil, &cursor, buffer.count) else { return false }
            OCSP_RESPONSE_free(response)
            return true
        }
        guard parsed else {
            throw TLSError(kind: .configuration, reason: "the OCSP response file \(file) does not hold a DER OCSP response: \(TLSError.drainErrorQueue())")
        }
        der = bytes
    }

    /// Makes `context` staple these bytes whenever a client asks (status_request). The
    /// callback is a C function with no captures: it finds the bytes through its argument.
    func install(on context: OpaquePointer) {
        _ = copenssl_ctx_set_status_arg(context, Unmanaged.passUnretained(self).toOpaque())
        _ = copenssl_ctx_set_status_cb(context) { ssl, argument in
            guard let ssl, let argument else { return SSL_TLSEXT_ERR_NOACK }
            return Unmanaged<OCSPStaple>.fromOpaque(argument).takeUnretainedValue().staple(on: ssl)
        }
    }

    /// Gives `ssl` a copy in OpenSSL's memory: OpenSSL frees it with the session.
    private func staple(on ssl: OpaquePointer) -> Int32 {
        guard let copy = copenssl_malloc(der.count) else { return SSL_TLSEXT_ERR_NOACK }
        der.withUnsafeBytes { copy.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        guard copenssl_staple_ocsp(ssl, copy.assumingMemoryBound(to: UInt8.self), der.count) == 1 else {
            copenssl_free(copy)
            return SSL_TLSEXT_ERR_NOACK
        }
        return SSL_TLSEXT_ERR_OK
    }
}
