import MongoBSON
import MongoTLS

/// The server's side of a SCRAM conversation, for the simulator and for tests of the client:
/// it checks a client's proof against stored credentials and proves itself in return.
///
/// Message level: `serverFirstMessage(clientFirst:mechanism:)`, then
/// `serverFinalMessage(clientFinal:)`. Command level: `reply(to:)` answers `saslStart` and
/// `saslContinue` documents as a MongoDB server does, honouring `skipEmptyExchange`.
///
/// The math is the client's (`ScramKeys`, `ScramMath`) and so are the message grammars
/// (`ScramMessages`): one implementation, exercised from both ends.
public struct ScramServerConversation: Sendable {
    private let credentials: [ScramCredential]
    private let serverNonce: String?
    /// The id every reply carries.
    public let conversationId: Int32
    private var state: State = .initial
    private var skipEmptyExchange = false
    /// For error contexts: what is known so far.
    private var mechanismName = "SCRAM"
    private var username = ""

    private enum State: Sendable {
        case initial
        case awaitingClientFinal(Pending)
        /// The server-final message went out without done (no skipEmptyExchange).
        case awaitingEmptyExchange(username: String)
        case authenticated(username: String)
        case failed
    }

    /// What the server-first step leaves for the server-final one.
    private struct Pending: Sendable {
        let credential: ScramCredential
        let gs2Header: String
        let clientFirstBare: String
        let serverFirst: String
        let combinedNonce: String
    }

    /// - Parameters:
    ///   - credentials: the users this server knows, one entry per user and mechanism.
    ///   - nonce: the server's part of the nonce; nil draws 24 random bytes, in base64.
    public init(credentials: [ScramCredential], nonce: String? = nil, conversationId: Int32 = 1) {
        self.credentials = credentials
        self.serverNonce = nonce
        self.conversationId = conversationId
    }

    /// The user the client proved to be, once it has.
    public var authenticatedUser: String? {
        switch state {
        case .authenticated(let user), .awaitingEmptyExchange(let user): user
        default: nil
        }
    }

    // MARK: - Messages

    /// Reads the client-first message and answers with the server-first one: the combined nonce,
    /// the user's salt and iteration count.
    ///
    /// - Throws: `malformedClientMessage`; `authenticationFailed` for an unknown user.
    public mutating func serverFirstMessage(clientFirst: String, mechanism: ScramMechanism) throws(AuthenticationError) -> String {
        mechanismName = mechanism.name
        guard case .initial = state else { throw fail(.unexpectedReply("a client-first message after the conversation started")) }
        let parsed: ScramMessages.ClientFirst
        do { parsed = try ScramMessages.ClientFirst(parsing: clientFirst) } catch { throw fail(error.reason) }
        username = parsed.username
        guard let credential = credentials.first(where: { $0.username == parsed.username && $0.mechanism == mechanism }) else {
            throw fail(.authenticationFailed)
        }
        let combinedNonce = parsed.nonce + (serverNonce ?? ScramMessages.randomNonce())
        let serverFirst = ScramMessages.serverFirst(nonce: combinedNonce, salt: credential.salt, iterations: credential.iterations)
        state = .awaitingClientFinal(Pending(credential: credential, gs2Header: parsed.gs2Header, clientFirstBare: parsed.bare,
                                             serverFirst: serverFirst, combinedNonce: combinedNonce))
        return serverFirst
    }

    /// Reads the client-final message, checks its channel binding, nonce and proof, and answers
    /// with the server-final message (`v=` ServerSignature).
    ///
    /// - Throws: `authenticationFailed` for a wrong proof, `nonceMismatch`, `malformedClientMessage`.
    public mutating func serverFinalMessage(clientFinal: String) throws(AuthenticationError) -> String {
        guard case .awaitingClientFinal(let pending) = state else {
            throw fail(.unexpectedReply("a client-final message before the client-first message"))
        }
        let parsed: ScramMessages.ClientFinal
        do { parsed = try ScramMessages.ClientFinal(parsing: clientFinal) } catch { throw fail(error.reason) }
        guard parsed.nonce == pending.combinedNonce else { throw fail(.nonceMismatch) }
        guard parsed.channelBinding == ScramMessages.channelBinding(gs2Header: pending.gs2Header) else {
            throw fail(.malformedClientMessage("the channel binding (c=) does not repeat the GS2 header"))
        }
        let mechanism = pending.credential.mechanism
        let authMessage = ScramMessages.authMessage(clientFirstBare: pending.clientFirstBare, serverFirst: pending.serverFirst,
                                                    clientFinalWithoutProof: parsed.withoutProof)
        guard ScramMath.verifyClientProof(mechanism, proof: parsed.proof, storedKey: pending.credential.storedKey, authMessage: authMessage) else {
            throw fail(.authenticationFailed)
        }
        let signature = ScramMath.serverSignature(mechanism, serverKey: pending.credential.serverKey, authMessage: authMessage)
        state = .authenticated(username: pending.credential.username)
        return "v=\(Base64.encode(signature))"
    }

    // MARK: - Commands

    /// The reply a MongoDB server gives to a `saslStart` or `saslContinue` command: a SASL reply
    /// with `ok: 1`, or `ok: 0` with `AuthenticationFailed` (18), `MechanismUnavailable` (334)
    /// or `BadValue` (2) for a message that does not parse or comes out of order.
    public mutating func reply(to command: BSONDocument) -> BSONDocument {
        do throws(AuthenticationError) {
            return try answer(command).document
        } catch {
            let (code, codeName): (Int32, String) =
                switch error.reason {
                case .authenticationFailed, .nonceMismatch: (18, "AuthenticationFailed")
                case .unsupportedMechanism: (334, "MechanismUnavailable")
                default: (2, "BadValue")
                }
            let message = error.reason == .authenticationFailed ? "Authentication failed." : error.reason.description
            return ["ok": 0.0, "errmsg": .string(message), "code": .int32(code), "codeName": .string(codeName)]
        }
    }

    private mutating func answer(_ command: BSONDocument) throws(AuthenticationError) -> SaslReply {
        let id = BSON.int32(conversationId)
        if command["saslStart"] != nil {
            let name = command["mechanism"]?.stringValue ?? ""
            guard let mechanism = ScramMechanism(rawValue: name) else {
                mechanismName = name
                throw fail(.unsupportedMechanism(name))
            }
            skipEmptyExchange = command["options"]?.documentValue?["skipEmptyExchange"]?.isTruthy ?? false
            let serverFirst = try serverFirstMessage(clientFirst: try text(command), mechanism: mechanism)
            return SaslReply(conversationId: id, done: false, payload: Array(serverFirst.utf8))
        }
        guard command["saslContinue"] != nil else { throw fail(.unexpectedReply("neither saslStart nor saslContinue")) }
        guard command["conversationId"]?.int64Value == Int64(conversationId) else {
            throw fail(.unexpectedReply("saslContinue for another conversationId"))
        }
        switch state {
        case .awaitingClientFinal:
            let serverFinal = try serverFinalMessage(clientFinal: try text(command))
            if !skipEmptyExchange, case .authenticated(let user) = state { state = .awaitingEmptyExchange(username: user) }
            return SaslReply(conversationId: id, done: skipEmptyExchange, payload: Array(serverFinal.utf8))
        case .awaitingEmptyExchange(let user):
            guard try text(command).isEmpty else { throw fail(.malformedClientMessage("the final exchange must be empty")) }
            state = .authenticated(username: user)
            return SaslReply(conversationId: id, done: true, payload: [])
        case .initial, .authenticated, .failed:
            throw fail(.unexpectedReply("saslContinue out of order"))
        }
    }

    /// The command's binary payload as UTF-8 text.
    private mutating func text(_ command: BSONDocument) throws(AuthenticationError) -> String {
        guard case .binary(let payload)? = command["payload"], let text = String(validating: payload.data, as: UTF8.self) else {
            throw fail(.malformedClientMessage("the payload is not UTF-8 binary"))
        }
        return text
    }

    private mutating func fail(_ reason: AuthenticationError.Reason) -> AuthenticationError {
        state = .failed
        return AuthenticationError(reason: reason, mechanism: mechanismName, username: username)
    }
}
