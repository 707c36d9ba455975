import MongoTLS

/// The keys RFC 5802 derives from a salted password, and the few formulas that combine them
/// with the conversation's AuthMessage.
///
/// Why one type for both sides: the client proves it knows ClientKey and checks the server's
/// signature with ServerKey, and the server (the simulator's) checks the proof with
/// StoredKey = H(ClientKey) and signs with ServerKey. Written once here, the two sides cannot
/// drift apart, and a test of either tests the other.
///
/// The description and reflection are redacted, so that printing or dumping a value never
/// puts key material into a log.
public struct ScramKeys: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let mechanism: ScramMechanism
    /// HMAC(SaltedPassword, "Client Key").
    public let clientKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key").
    public let serverKey: [UInt8]

    public init(mechanism: ScramMechanism, clientKey: [UInt8], serverKey: [UInt8]) {
        self.mechanism = mechanism
        self.clientKey = clientKey
        self.serverKey = serverKey
    }

    /// Derives the keys: SaltedPassword = Hi(password, salt, i), which is PBKDF2 with HMAC over
    /// the mechanism's hash, then the two HMACs. This is the expensive step (one HMAC per
    /// iteration) that `ScramKeyCache` saves.
    ///
    /// - Parameters:
    ///   - preparedPassword: the password as `ScramMechanism.preparePassword` gives it.
    ///   - iterations: 1 to `Int32.max`; conversations check the server's count before calling.
    public static func derive(mechanism: ScramMechanism, preparedPassword: [UInt8], salt: [UInt8], iterations: Int) -> ScramKeys {
        let algorithm = mechanism.hashAlgorithm
        let salted = Crypto.pbkdf2(algorithm, password: preparedPassword, salt: salt, iterations: iterations)
        return ScramKeys(
            mechanism: mechanism,
            clientKey: Crypto.hmac(algorithm, key: salted, Array("Client Key".utf8)),
            serverKey: Crypto.hmac(algorithm, key: salted, Array("Server Key".utf8))
        )
    }

    /// H(ClientKey): what a server stores in place of ClientKey.
    public var storedKey: [UInt8] { Crypto.hash(mechanism.hashAlgorithm, clientKey) }

    /// ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage).
    func clientProof(authMessage: [UInt8]) -> [UInt8] {
        ScramMath.xor(clientKey, ScramMath.clientSignature(mechanism, storedKey: storedKey, authMessage: authMessage))
    }

    /// ServerSignature = HMAC(ServerKey, AuthMessage).
    func serverSignature(authMessage: [UInt8]) -> [UInt8] {
        ScramMath.serverSignature(mechanism, serverKey: serverKey, authMessage: authMessage)
    }

    public var description: String { "ScramKeys(\(mechanism), redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["mechanism": mechanism]) }
}

/// The formulas both sides evaluate, for the server, which holds StoredKey and ServerKey but
/// not ClientKey.
enum ScramMath {
    /// ClientSignature = HMAC(StoredKey, AuthMessage).
    static func clientSignature(_ mechanism: ScramMechanism, storedKey: [UInt8], authMessage: [UInt8]) -> [UInt8] {
        Crypto.hmac(mechanism.hashAlgorithm, key: storedKey, authMessage)
    }

    /// ServerSignature = HMAC(ServerKey, AuthMessage).
    static func serverSignature(_ mechanism: ScramMechanism, serverKey: [UInt8], authMessage: [UInt8]) -> [UInt8] {
        Crypto.hmac(mechanism.hashAlgorithm, key: serverKey, authMessage)
    }

    /// Whether `proof` shows knowledge of the ClientKey whose hash is `storedKey`: the server
    /// recovers ClientKey = ClientProof XOR ClientSignature and compares H(ClientKey) with
    /// StoredKey, in constant time.
    static func verifyClientProof(_ mechanism: ScramMechanism, proof: [UInt8], storedKey: [UInt8], authMessage: [UInt8]) -> Bool {
        let signature = clientSignature(mechanism, storedKey: storedKey, authMessage: authMessage)
        guard proof.count == signature.count else { return false }
        let clientKey = xor(proof, signature)
        return Crypto.constantTimeEqual(Crypto.hash(mechanism.hashAlgorithm, clientKey), storedKey)
    }

    /// Byte-wise XOR of two values of one length.
    static func xor(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        precondition(a.count == b.count, "SCRAM XORs values of one digest length")
        return zip(a, b).map { $0 ^ $1 }
    }
}
