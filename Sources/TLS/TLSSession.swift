import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// One TLS connection's state, over two memory BIOs: the caller feeds the bytes it received
/// from the socket (`feed`) and sends the bytes the session produced (`drainOutput`). OpenSSL
/// never touches the socket, so it never blocks, never raises SIGPIPE (the caller sends with
/// MSG_NOSIGNAL), and works the same for a libev watcher and for a thread in `poll()`.
///
/// Not thread-safe: owned by one thread at a time (the loop, or the application thread that
/// holds the connection).
public final class TLSSession {
    /// The outcome of reading plaintext.
    public enum ReadResult: Equatable {
        case bytes(Int)
        /// Nothing decrypted yet: feed more received bytes.
        case needsInput
        /// The peer sent close_notify.
        case closed
    }

    public let context: TLSContext
    public let serverName: String?
    public private(set) var isHandshakeComplete = false
    let ssl: OpaquePointer
    private let readBIO: OpaquePointer
    private let writeBIO: OpaquePointer

    init(context: TLSContext, serverName: String?) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context) else {
            throw TLSError(kind: .configuration, reason: "SSL_new failed: \(TLSError.drainErrorQueue())")
        }
        guard let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError(kind: .configuration, reason: "BIO_new failed: \(TLSError.drainErrorQueue())")
        }
        copenssl_bio_set_retry_when_empty(readBIO)
        copenssl_bio_set_retry_when_empty(writeBIO)
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        self.context = context
        self.serverName = serverName
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            // Ask for a stapled OCSP response (status_request), checked after the handshake.
            guard copenssl_request_ocsp_status(ssl) == 1 else {
                throw TLSError(kind: .configuration, reason: "cannot request OCSP stapling: \(TLSError.drainErrorQueue())")
            }
            if let serverName { try configurePeerName(serverName) }
        }
    }

    private func configurePeerName(_ host: String) throws(TLSError) {
        let isIPLiteral = Self.isIPLiteral(host)
        if !isIPLiteral, copenssl_set_sni(ssl, host) != 1 {
            throw TLSError(kind: .configuration, reason: "cannot set the server name \(host) for SNI: \(TLSError.drainErrorQueue())")
        }
        let configuration = context.configuration
        guard !configuration.allowInvalidHostnames, !configuration.allowInvalidCertificates else { return }
        let parameters = SSL_get0_param(ssl)
        X509_VERIFY_PARAM_set_hostflags(parameters, UInt32(X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS))
        let ok = isIPLiteral
            ? X509_VERIFY_PARAM_set1_ip_asc(parameters, host)
            : X509_VERIFY_PARAM_set1_host(parameters, host, 0)
        guard ok == 1 else {
            throw TLSError(kind: .configuration, reason: "cannot require the certificate to match \(host): \(TLSError.drainErrorQueue())")
        }
    }

    /// Whether `host` is an IPv4 or IPv6 literal (no SNI; matched against the certificate's
    /// IP addresses).
    public static func isIPLiteral(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    // MARK: - Handshake

    /// Advances the handshake with what was fed so far.
    /// - Returns: true once the handshake is complete; false when it needs more input (send
    ///   `drainOutput` first: the session may have produced a flight of its own).
    ///   A client that verifies certificates then checks the stapled OCSP response, if any,
    ///   and requires one from a Must-Staple certificate (`checkStapledOCSPResponse`; not with
    ///   `checkRevocation` off).
    /// - Throws: `TLSError`: certificate or host name rejected (revoked too), a plaintext
    ///   peer, an alert.
    public func handshake() throws(TLSError) -> Bool {
        if isHandshakeComplete { return true }
        ERR_clear_error()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            let configuration = context.configuration
            if context.role == .client, configuration.checkRevocation, !configuration.allowInvalidCertificates {
                try checkStapledOCSPResponse()
            }
            isHandshakeComplete = true
            return true
        }
        let code = SSL_get_error(ssl, rc)
        if code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE { return false }
        throw classifyHandshakeFailure(code)
    }

    private func classifyHandshakeFailure(_ code: Int32) -> TLSError {
        let queue = TLSError.drainErrorQueue()
        let verify = SSL_get_verify_result(ssl)
        if context.role == .client, verify != Int(X509_V_OK) {
            let text = String(cString: X509_verify_cert_error_string(verify))
            let subject = peerCertificateSubject.map { " (certificate subject \($0))" } ?? ""
            if verify == Int(X509_V_ERR_HOSTNAME_MISMATCH) || verify == Int(X509_V_ERR_IP_ADDRESS_MISMATCH) {
                return TLSError(kind: .hostnameMismatch, reason: "\(text): expected \(serverName ?? "the host dialled")\(subject)")
            }
            return TLSError(kind: .certificateRejected, reason: text + subject)
        }
        let plaintextSigns = ["wrong version number", "packet length too long", "record layer failure", "http request"]
        if plaintextSigns.contains(where: queue.contains) {
            return TLSError(kind: .notTLS, reason: queue)
        }
        if code == SSL_ERROR_ZERO_RETURN { return TLSError(kind: .handshakeFailed, reason: "the peer closed the TLS session") }
        return TLSError(kind: .handshakeFailed, reason: queue.isEmpty ? "SSL_do_handshake error \(code)" : queue)
    }

    // MARK: - Bytes in and out

    /// Hands bytes received from the socket to the session.
    public func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            let n = BIO_write(readBIO, base + offset, Int32(clamping: bytes.count - offset))
            precondition(n > 0, "a memory BIO refused bytes: out of memory")
            offset += Int(n)
        }
    }

    /// Whether the session has produced bytes to send.
    public var hasOutput: Bool { copenssl_bio_pending(writeBIO) > 0 }

    /// Appends the bytes the session produced (handshake flights, encrypted records, alerts).
    public func drainOutput(into out: inout [UInt8]) {
        let pending = Int(copenssl_bio_pending(writeBIO))
        guard pending > 0 else { return }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: pending))
        let n = out.withUnsafeMutableBytes { raw in BIO_read(writeBIO, raw.baseAddress! + start, Int32(pending)) }
        out.removeLast(pending - Int(max(0, n)))
    }

    /// Whether decrypted or undecrypted bytes are buffered: read again before waiting on the
    /// socket, or they would wait for bytes that already arrived.
    public var hasBufferedInput: Bool { SSL_pending(ssl) > 0 || copenssl_bio_pending(readBIO) > 0 }

    /// Decrypts what was fed into `buffer`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> ReadResult {
        ERR_clear_error()
        var count = 0
        if SSL_read_ex(ssl, buffer.baseAddress, buffer.count, &count) == 1 { return .bytes(count) }
        let code = SSL_get_error(ssl, 0)
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needsInput
        case SSL_ERROR_ZERO_RETURN: return .closed
        default:
            throw TLSError(kind: .protocolFailure, reason: "reading a TLS record: \(TLSError.drainErrorQueue())")
        }
    }

    /// Encrypts all of `bytes` (a memory BIO takes everything; send `drainOutput` afterwards).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            var written = 0
            guard SSL_write_ex(ssl, base + offset, bytes.count - offset, &written) == 1 else {
                throw TLSError(kind: .protocolFailure, reason: "writing a TLS record: \(TLSError.drainErrorQueue())")
            }
            offset += written
        }
    }

    /// Queues a close_notify alert (send `drainOutput` afterwards, if the socket is still open).
    public func shutdown() {
        ERR_clear_error()
        if isHandshakeComplete { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
    }

    // MARK: - The peer

    /// The peer certificate's subject in RFC 2253 form (what MONGODB-X509 names as the user),
    /// or nil when the peer sent none.
    public var peerCertificateSubject: String? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard let name = X509_get_subject_name(certificate), let bio = BIO_new(BIO_s_mem()) else { return nil }
        defer { BIO_free(bio) }
        guard X509_NAME_print_ex(bio, name, 0, copenssl_xn_flag_rfc2253()) >= 0 else { return nil }
        let length = Int(copenssl_bio_pending(bio))
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { BIO_read(bio, $0.baseAddress, Int32(length)) }
        return String(decoding: bytes.prefix(Int(max(0, n))), as: UTF8.self)
    }

    /// The negotiated protocol, e.g. "TLSv1.3".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    deinit { SSL_free(ssl) }
}
