import MongoBSON
import MongoTLS

/// The client's side of one SCRAM-SHA-1 or SCRAM-SHA-256 conversation (RFC 5802, RFC 7677, and
/// the auth spec's MongoDB rules), as a value: no I/O, no clock, so a connection establishment
/// drives it and a test feeds it the RFCs' messages.
///
/// Command level, what a connection does:
///
/// ```swift
/// var conversation = try ScramClientConversation(mechanism: .sha256, username: user, password: pw,
///                                                database: source, keyCache: cache)
/// var command: BSONDocument? = conversation.saslStartCommand      // add $db: source and send
/// while let next = command {
///     let reply = try send(next)
///     command = try conversation.nextCommand(after: reply)       // nil: authenticated
/// }
/// ```
///
/// With speculative authentication the `hello` carries `speculativeAuthenticateCommand`; when the
/// hello reply has a `speculativeAuthenticate` document, pass that to `nextCommand(after:)` and
/// loop from there; when it has none, start the loop with `saslStartCommand` (nothing has changed).
///
/// Message level, for tests against the RFC vectors: `clientFirstMessage`,
/// `clientFinalMessage(serverFirst:)`, `verifyServerFinal(_:)`.
///
/// The conversation holds the prepared password (for SCRAM-SHA-1 the MongoDB digest, for
/// SCRAM-SHA-256 the SASLprep'd password) until it is discarded; its description and
/// reflection leave it out.
public struct ScramClientConversation: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let mechanism: ScramMechanism
    /// As given: SCRAM usernames are not SASLprep'd (auth spec), only escaped.
    public let username: String
    /// The authentication database (the credential's source), for the speculative document and
    /// for error descriptions; the caller sends the SASL commands there.
    public let database: String
    /// The server, for error descriptions only.
    public let server: String?

    private let preparedPassword: [UInt8]
    private let clientNonce: String
    private let keyCache: ScramKeyCache?
    private var state: State = .initial
    /// From the first reply; every saslContinue repeats it.
    private var conversationId: BSON?

    private enum State: Sendable {
        /// The client-first message is ready; nothing received.
        case initial
        /// The client-final message went out; the server's signature must be this.
        case awaitingServerFinal(expectedSignature: [UInt8])
        /// The server proved itself but did not say done: an empty saslContinue went out.
        case awaitingDone
        case complete
        case failed
    }

    /// A conversation for a user and plain-text password; the mechanism prepares the password
    /// (`ScramMechanism.preparePassword`).
    ///
    /// - Parameters:
    ///   - keyCache: where derived keys are kept between conversations; nil derives every time.
    ///   - nonce: the client nonce; nil (always, outside tests) draws 24 random bytes, in base64.
    /// - Throws: `missingUsername`, `invalidPassword` (SASLprep), `invalidNonce`.
    public init(mechanism: ScramMechanism, username: String, password: String, database: String = "admin",
                server: String? = nil, keyCache: ScramKeyCache? = nil, nonce: String? = nil) throws(AuthenticationError) {
        let prepared: [UInt8]
        do {
            prepared = try mechanism.preparePassword(username: username, password: password)
        } catch {
            throw AuthenticationError(reason: .invalidPassword(error), mechanism: mechanism.name, username: username, database: database, server: server)
        }
        try self.init(mechanism: mechanism, username: username, preparedPassword: prepared, database: database,
                      server: server, keyCache: keyCache, nonce: nonce)
    }

    /// A conversation for a password already prepared as the mechanism salts it: RFC 5802's
    /// `Normalize(password)` (for MongoDB's SCRAM-SHA-1, the hexadecimal MD5 digest). For a
    /// caller that keeps only the prepared form, and for the RFCs' test vectors.
    public init(mechanism: ScramMechanism, username: String, preparedPassword: [UInt8], database: String = "admin",
                server: String? = nil, keyCache: ScramKeyCache? = nil, nonce: String? = nil) throws(AuthenticationError) {
        self.mechanism = mechanism
        self.username = username
        self.database = database
        self.server = server
        self.preparedPassword = preparedPassword
        self.keyCache = keyCache
        self.clientNonce = nonce ?? ScramMessages.randomNonce()
        guard !username.isEmpty else { throw error(.missingUsername) }
        guard ScramMessages.isValidNonce(clientNonce) else { throw error(.invalidNonce) }
    }

    /// Whether the server has proved it knows the password and has said the conversation is done.
    public var isComplete: Bool {
        if case .complete = state { return true }
        return false
    }

    // MARK: - Messages

    /// "n,,n=<escaped username>,r=<client nonce>".
    public var clientFirstMessage: String { ScramMessages.clientFirst(username: username, nonce: clientNonce) }

    /// Reads the server-first message and answers with the client-final message, which carries
    /// the proof.
    ///
    /// - Throws: `malformedServerMessage`, `nonceMismatch` (the server's nonce must extend the
    ///   client's), `iterationCountTooLow` (under 4096), `unexpectedReply` out of order.
    public mutating func clientFinalMessage(serverFirst: String) throws(AuthenticationError) -> String {
        guard case .initial = state else { throw fail(.unexpectedReply("a server-first message after the conversation moved on")) }
        let parsed: ScramMessages.ServerFirst
        do { parsed = try ScramMessages.ServerFirst(parsing: serverFirst) } catch { throw fail(error.reason) }
        guard parsed.nonce.hasPrefix(clientNonce), parsed.nonce.utf8.count > clientNonce.utf8.count else { throw fail(.nonceMismatch) }
        guard parsed.iterations >= ScramMechanism.minimumIterationCount else { throw fail(.iterationCountTooLow(parsed.iterations)) }

        let keys = keyCache?.keys(mechanism: mechanism, preparedPassword: preparedPassword, salt: parsed.salt, iterations: parsed.iterations)
            ?? ScramKeys.derive(mechanism: mechanism, preparedPassword: preparedPassword, salt: parsed.salt, iterations: parsed.iterations)
        let withoutProof = ScramMessages.clientFinalWithoutProof(gs2Header: ScramMessages.gs2Header, nonce: parsed.nonce)
        let authMessage = ScramMessages.authMessage(
            clientFirstBare: ScramMessages.clientFirstBare(username: username, nonce: clientNonce),
            serverFirst: serverFirst,
            clientFinalWithoutProof: withoutProof
        )
        state = .awaitingServerFinal(expectedSignature: keys.serverSignature(authMessage: authMessage))
        return "\(withoutProof),p=\(Base64.encode(keys.clientProof(authMessage: authMessage)))"
    }

    /// Checks the server-final message: its `v=` signature must be the one the password gives
    /// (compared in constant time); an `e=` is the server's refusal.
    ///
    /// - Throws: `serverSignatureMismatch`, `serverReportedError`, `malformedServerMessage`.
    public mutating func verifyServerFinal(_ serverFinal: String) throws(AuthenticationError) {
        guard case .awaitingServerFinal(let expected) = state else {
            throw fail(.unexpectedReply("a server-final message before the client-final message"))
        }
        let parsed: ScramMessages.ServerFinal
        do { parsed = try ScramMessages.ServerFinal(parsing: serverFinal) } catch { throw fail(error.reason) }
        switch parsed {
        case .error(let message):
            throw fail(.serverReportedError(message))
        case .verifier(let signature):
            guard Crypto.constantTimeEqual(signature, expected) else { throw fail(.serverSignatureMismatch) }
            state = .complete
        }
    }

    // MARK: - Commands

    /// The `saslStart` command (without `$db`), with `skipEmptyExchange`.
    public var saslStartCommand: BSONDocument {
        SaslCommand.start(mechanism: mechanism.name, payload: Array(clientFirstMessage.utf8))
    }

    /// The `speculativeAuthenticate` document for the handshake's `hello`, with `db` the
    /// authentication database.
    public var speculativeAuthenticateCommand: BSONDocument {
        SaslCommand.speculativeStart(mechanism: mechanism.name, payload: Array(clientFirstMessage.utf8), database: database)
    }

    /// Takes the server's reply to the last command (or a hello reply's `speculativeAuthenticate`
    /// document) and gives the next command to send, or nil once authenticated.
    ///
    /// The steps: the first reply carries the server-first message and gets the client-final
    /// one; the second carries the server-final message, which is verified, and ends the
    /// conversation if the server says `done` (skipEmptyExchange) or else gets an empty
    /// saslContinue; the third, on older servers, must say `done`.
    ///
    /// - Throws: `commandFailed` for an `ok: 0` reply, `unexpectedReply` for one out of order or
    ///   without a conversationId, and every error of the message steps. After an error the
    ///   conversation is failed and refuses further replies; a complete one refuses them too,
    ///   and stays complete.
    public mutating func nextCommand(after reply: BSONDocument) throws(AuthenticationError) -> BSONDocument? {
        let parsed: SaslReply
        do { parsed = try SaslReply.parse(reply) } catch { throw fail(error.reason) }
        let id = conversationId ?? parsed.conversationId
        conversationId = id
        switch state {
        case .initial:
            guard !parsed.done else { throw fail(.unexpectedReply("the server said done before the client proved anything")) }
            let clientFinal = try clientFinalMessage(serverFirst: try text(parsed.payload))
            return SaslCommand.continue(conversationId: id, payload: Array(clientFinal.utf8))
        case .awaitingServerFinal:
            guard !parsed.payload.isEmpty else {
                throw fail(.unexpectedReply("the server sent no final message, so it has not proved it knows the password"))
            }
            try verifyServerFinal(try text(parsed.payload))
            if parsed.done { return nil }
            state = .awaitingDone
            return SaslCommand.continue(conversationId: id, payload: [])
        case .awaitingDone:
            guard parsed.done else { throw fail(.unexpectedReply("the server is not done after the final exchange")) }
            state = .complete
            return nil
        case .complete, .failed:
            throw fail(.unexpectedReply("a reply after the conversation ended"))
        }
    }

    // MARK: - Private

    /// A payload as UTF-8 text (SCRAM messages are UTF-8).
    private mutating func text(_ payload: [UInt8]) throws(AuthenticationError) -> String {
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw fail(.malformedServerMessage("the payload is not UTF-8"))
        }
        return text
    }

    private func error(_ reason: AuthenticationError.Reason) -> AuthenticationError {
        AuthenticationError(reason: reason, mechanism: mechanism.name, username: username, database: database, server: server)
    }

    /// Marks the conversation failed and gives the error to throw. A complete conversation stays
    /// complete: the server has proved itself, and a stray message later cannot undo that.
    private mutating func fail(_ reason: AuthenticationError.Reason) -> AuthenticationError {
        if case .complete = state {} else { state = .failed }
        return error(reason)
    }

    public var description: String { "ScramClientConversation(\(mechanism), user \"\(username)\", database \"\(database)\")" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["mechanism": mechanism, "username": username, "database": database, "server": server as Any])
    }
}
