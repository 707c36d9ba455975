import MongoTLS

/// A user's SCRAM credential as a server stores it: salt, iteration count, StoredKey and
/// ServerKey, never the password (RFC 5802 section 3). For the simulator's users.
///
/// Its description and reflection leave the keys out.
public struct ScramCredential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let username: String
    public let mechanism: ScramMechanism
    public let salt: [UInt8]
    public let iterations: Int
    /// H(ClientKey).
    public let storedKey: [UInt8]
    public let serverKey: [UInt8]

    /// The iteration counts MongoDB servers use by default: 10,000 for SCRAM-SHA-1 and 15,000
    /// for SCRAM-SHA-256.
    public static func defaultIterations(_ mechanism: ScramMechanism) -> Int {
        mechanism == .sha1 ? 10_000 : 15_000
    }

    /// Derives a credential from a password, prepared as a client prepares it
    /// (`ScramMechanism.preparePassword`) and salted with `ScramKeys.derive`, the client's own code.
    ///
    /// - Parameters:
    ///   - salt: nil draws 16 random bytes.
    ///   - iterations: nil takes `defaultIterations`; 1 to `Int32.max` (a count under 4096 is
    ///     allowed, for tests of the client's refusal).
    /// - Throws: `invalidPassword` when SASLprep refuses a SCRAM-SHA-256 password.
    public init(username: String, password: String, mechanism: ScramMechanism, salt: [UInt8]? = nil, iterations: Int? = nil) throws(AuthenticationError) {
        let prepared: [UInt8]
        do {
            prepared = try mechanism.preparePassword(username: username, password: password)
        } catch {
            throw AuthenticationError(reason: .invalidPassword(error), mechanism: mechanism.name, username: username)
        }
        let salt = salt ?? Crypto.randomBytes(16)
        let iterations = iterations ?? Self.defaultIterations(mechanism)
        precondition(iterations > 0 && iterations <= Int(Int32.max), "a SCRAM iteration count is 1 to Int32.max")
        let keys = ScramKeys.derive(mechanism: mechanism, preparedPassword: prepared, salt: salt, iterations: iterations)
        self.init(username: username, mechanism: mechanism, salt: salt, iterations: iterations,
                  storedKey: keys.storedKey, serverKey: keys.serverKey)
    }

    /// A credential from its stored parts.
    public init(username: String, mechanism: ScramMechanism, salt: [UInt8], iterations: Int, storedKey: [UInt8], serverKey: [UInt8]) {
        self.username = username
        self.mechanism = mechanism
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    public var description: String { "ScramCredential(\(mechanism), user \"\(username)\", i=\(iterations), keys redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["username": username, "mechanism": mechanism, "iterations": iterations])
    }
}
