import COpenSSL

/// The hash functions, HMAC, PBKDF2 and randomness that authentication needs, from the
/// OpenSSL already linked for TLS.
///
/// Why OpenSSL and not swift-crypto: the TLS sessions need libssl anyway, so its libcrypto costs
/// nothing more to build or ship; and swift-crypto's PBKDF2 refuses fewer than 210,000 rounds
/// unless its "unchecked" variant is used, while MongoDB's SCRAM defaults are 10,000
/// (SCRAM-SHA-1) and 15,000 (SCRAM-SHA-256) iterations.
///
/// Thread-safe: OpenSSL 3's digest and KDF functions keep no shared mutable state.
public enum Crypto {
    /// The digests SCRAM uses (and MD5, for SCRAM-SHA-1's password digest).
    public enum HashAlgorithm: Sendable, Hashable {
        case md5, sha1, sha256

        /// The digest length in bytes.
        public var byteCount: Int {
            switch self {
            case .md5: return 16
            case .sha1: return 20
            case .sha256: return 32
            }
        }

        var evp: OpaquePointer {
            switch self {
            case .md5: return EVP_md5()
            case .sha1: return EVP_sha1()
            case .sha256: return EVP_sha256()
            }
        }
    }

    /// The digest of `data`.
    public static func hash(_ algorithm: HashAlgorithm, _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = data.withUnsafeBytes { raw in
            EVP_Digest(raw.baseAddress, raw.count, &out, &length, algorithm.evp, nil)
        }
        precondition(ok == 1, "EVP_Digest failed for a built-in digest")
        return Array(out.prefix(Int(length)))
    }

    /// HMAC of `data` under `key`.
    public static func hmac(_ algorithm: HashAlgorithm, key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                HMAC(algorithm.evp, k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self), d.count, &out, &length)
            }
        }
        precondition(result != nil, "HMAC failed for a built-in digest")
        return Array(out.prefix(Int(length)))
    }

    /// PBKDF2 with HMAC over `algorithm` (RFC 8018), giving a key as long as one digest.
    /// Any positive iteration count is accepted: callers enforce their own minimum (SCRAM: 4096).
    public static func pbkdf2(_ algorithm: HashAlgorithm, password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        precondition(iterations > 0 && iterations <= Int(Int32.max), "PBKDF2 iteration count out of range")
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        let ok = password.withUnsafeBytes { p in
            salt.withUnsafeBytes { s in
                PKCS5_PBKDF2_HMAC(
                    p.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(p.count),
                    s.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(s.count),
                    Int32(iterations), algorithm.evp, Int32(out.count), &out
                )
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed for a built-in digest")
        return out
    }

    /// `count` bytes from OpenSSL's CSPRNG (seeded from the kernel's getrandom).
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let ok = RAND_bytes(&out, Int32(count))
        precondition(ok == 1, "RAND_bytes failed: the kernel's entropy source is unavailable")
        return out
    }

    /// Whether `a` and `b` are equal, in time that depends only on their lengths (a server
    /// signature must not leak how many leading bytes matched).
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }
}
