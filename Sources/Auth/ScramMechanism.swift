import MongoTLS

/// The two SCRAM mechanisms MongoDB speaks. They share every step (RFC 5802) and differ in the
/// hash function and in how the password is prepared before it is salted.
public enum ScramMechanism: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case sha1 = "SCRAM-SHA-1"
    case sha256 = "SCRAM-SHA-256"

    /// The name the `mechanism` field of `saslStart` carries.
    public var name: String { rawValue }

    public var description: String { rawValue }

    /// The hash function H() and the HMAC and PBKDF2 under it.
    public var hashAlgorithm: Crypto.HashAlgorithm {
        switch self {
        case .sha1: .sha1
        case .sha256: .sha256
        }
    }

    /// The lowest iteration count a client accepts (the auth spec's MUST, against a
    /// man-in-the-middle that asks for a cheap derivation).
    public static let minimumIterationCount = 4096

    /// The password as this mechanism salts it: `Normalize(password)` of RFC 5802, MongoDB style.
    ///
    /// - SCRAM-SHA-1: the MongoDB digest `HEX(MD5(username + ":mongo:" + password))` in lower-case
    ///   hexadecimal, with no SASLprep of either part (the auth spec: it keeps the credentials
    ///   MONGODB-CR users already had working).
    /// - SCRAM-SHA-256: `SASLprep(password)` as a stored string, not digested.
    ///
    /// - Throws: the `SASLprepError` of a SCRAM-SHA-256 password SASLprep refuses.
    public func preparePassword(username: String, password: String) throws(SASLprepError) -> [UInt8] {
        switch self {
        case .sha1:
            let digest = Crypto.hash(.md5, Array("\(username):mongo:\(password)".utf8))
            return Array(Hex.lowercase(digest).utf8)
        case .sha256:
            return Array(try SASLprep.prepare(password).utf8)
        }
    }
}

/// Lower-case hexadecimal, for the SCRAM-SHA-1 password digest.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func lowercase(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
