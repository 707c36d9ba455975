import COpenSSL

/// A TLS failure: what kind, and OpenSSL's reason in words. It never holds key material or a
/// key file's password; the file names it mentions are the user's own.
public struct TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The peer's certificate did not verify: self-signed, unknown issuer, expired, revoked,
        /// a required OCSP staple missing. Not backpressure: the server is misconfigured or
        /// an impostor, and retrying will not help.
        case certificateRejected
        /// The certificate is valid but not for the host name or IP address dialled.
        case hostnameMismatch
        /// The peer answered the ClientHello with something that is not TLS (a plaintext server).
        case notTLS
        /// The handshake failed for another reason (no common protocol or cipher, an alert).
        case handshakeFailed
        /// TLS failed on an established connection (a bad record, a MAC failure).
        case protocolFailure
        /// The TLS configuration could not be loaded (a CA file, certificate or key unreadable,
        /// a wrong key password).
        case configuration
    }

    public var kind: Kind
    /// OpenSSL's words, with the file or host concerned when known.
    public var reason: String

    public init(kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    /// Whether the failure is the server's identity (certificate or host name): such an error
    /// marks the server Unknown and clears its pool instead of counting as backpressure.
    public var isCertificateFailure: Bool { kind == .certificateRejected || kind == .hostnameMismatch }

    public var description: String {
        switch kind {
        case .certificateRejected: return "the server's certificate was rejected: \(reason)"
        case .hostnameMismatch: return "the server's certificate does not match its host name: \(reason)"
        case .notTLS: return "the TLS handshake failed: the server does not speak TLS (is it a plaintext server?): \(reason)"
        case .handshakeFailed: return "the TLS handshake failed: \(reason)"
        case .protocolFailure: return "TLS failed: \(reason)"
        case .configuration: return "the TLS configuration is invalid: \(reason)"
        }
    }

    /// Drains OpenSSL's error queue of this thread into one line (most recent last).
    static func drainErrorQueue() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            parts.append(Self.shortened(text))
        }
        return parts.joined(separator: "; ")
    }

    /// The reason part of "error:0A00010B:SSL routines::wrong version number".
    private static func shortened(_ line: String) -> String {
        let fields = line.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 5 else { return line }
        return fields[4...].joined(separator: ":")
    }
}
