/// Why an authentication conversation failed, with who was authenticating and where.
///
/// Why this shape: an authentication error goes into logs and in front of operators, who need
/// to know which user, mechanism, server and database it concerned; and it must never carry the
/// password or anything derived from it (salted password, client or server key, proof). So it
/// holds only names and a `Reason` built from the conversation's public parts, and the
/// conversations never put secret bytes into a reason.
public struct AuthenticationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// The credential has no username (every SCRAM mechanism needs one).
        case missingUsername
        /// SASLprep refused the password (SCRAM-SHA-256); the error names one code point.
        case invalidPassword(SASLprepError)
        /// A nonce given to a conversation is empty or has characters SCRAM forbids
        /// (only printable ASCII other than ",").
        case invalidNonce
        /// A SCRAM message from the server does not parse; the text says what was wrong.
        case malformedServerMessage(String)
        /// A SCRAM message from the client does not parse (server side); the text says what.
        case malformedClientMessage(String)
        /// The server's nonce does not begin with the client's, or the client's final message
        /// does not repeat the combined nonce.
        case nonceMismatch
        /// The server asked for fewer PBKDF2 iterations than the minimum, 4096.
        case iterationCountTooLow(Int)
        /// The server's final message has a signature other than the one the password gives:
        /// the server does not know the password, or the conversation was tampered with.
        case serverSignatureMismatch
        /// The server's final message reported an error (`e=`).
        case serverReportedError(String)
        /// The server answered a SASL command with `ok: 0`.
        case commandFailed(code: Int?, codeName: String?, message: String?)
        /// A SASL reply came out of order or lacks a field the step needs.
        case unexpectedReply(String)
        /// Server side: the user is unknown or the client's proof is wrong (MongoDB's
        /// AuthenticationFailed, code 18; the two are not told apart, as a server does not).
        case authenticationFailed
        /// Server side: `saslStart` asked for a mechanism this server does not offer.
        case unsupportedMechanism(String)
    }

    public var reason: Reason
    /// The mechanism's name ("SCRAM-SHA-256").
    public var mechanism: String
    /// The user, as given (SCRAM does not SASLprep usernames); empty when not yet known.
    public var username: String
    /// The authentication database, when the caller gave it.
    public var database: String?
    /// The server ("host:port"), when the caller gave it.
    public var server: String?

    public init(reason: Reason, mechanism: String, username: String, database: String? = nil, server: String? = nil) {
        self.reason = reason
        self.mechanism = mechanism
        self.username = username
        self.database = database
        self.server = server
    }

    public var description: String {
        var subject = "\(mechanism) authentication"
        if !username.isEmpty { subject += " of user \"\(username)\"" }
        if let database { subject += " on database \"\(database)\"" }
        if let server { subject += " at \(server)" }
        return "\(subject) failed: \(reason.description)"
    }
}

extension AuthenticationError.Reason: CustomStringConvertible {
    public var description: String {
        switch self {
        case .missingUsername:
            "no username was given; SCRAM needs one"
        case .invalidPassword(let error):
            "the password cannot be prepared: \(error)"
        case .invalidNonce:
            "the nonce is empty or has characters other than printable ASCII without \",\""
        case .malformedServerMessage(let what):
            "malformed SCRAM message from the server: \(what)"
        case .malformedClientMessage(let what):
            "malformed SCRAM message from the client: \(what)"
        case .nonceMismatch:
            "the nonces do not match: the server's nonce must extend the client's, and the client must repeat it"
        case .iterationCountTooLow(let count):
            "the server asked for \(count) iterations, fewer than the minimum \(ScramMechanism.minimumIterationCount)"
        case .serverSignatureMismatch:
            "the server's signature is wrong: the server does not know the password, or the conversation was tampered with"
        case .serverReportedError(let error):
            "the server reported \"\(error)\""
        case .commandFailed(let code, let codeName, let message):
            "the server answered ok: 0" + Self.parenthesized([codeName, code.map { "code \($0)" }]) + (message.map { ": \($0)" } ?? "")
        case .unexpectedReply(let what):
            "unexpected SASL reply: \(what)"
        case .authenticationFailed:
            "AuthenticationFailed: unknown user or wrong password"
        case .unsupportedMechanism(let name):
            "the mechanism \"\(name)\" is not supported"
        }
    }

    /// " (a, b)" of the parts present, or "" when none is.
    private static func parenthesized(_ parts: [String?]) -> String {
        let present = parts.compactMap { $0 }
        return present.isEmpty ? "" : " (\(present.joined(separator: ", ")))"
    }
}

/// A reason without its context, thrown by the message parsers and the math that the client and
/// server conversations share; each conversation adds its user, mechanism, database and server.
struct ScramFailure: Error {
    let reason: AuthenticationError.Reason

    init(_ reason: AuthenticationError.Reason) { self.reason = reason }
}
