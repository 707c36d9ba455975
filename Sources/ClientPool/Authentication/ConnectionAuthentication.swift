import MongoBSON
import SDAMCore
import MongoAuth

/// How one application connection authenticates (auth spec), around its handshake:
///
/// 1. `opening()`: what the hello carries — `saslSupportedMechs: "source.user"` when the
///    mechanism is to be negotiated, and `speculativeAuthenticate`, the conversation's first
///    step (SCRAM-SHA-256 when negotiating, as MongoDB 4.4+ would choose; the named mechanism
///    otherwise).
/// 2. `exchange(_:helloReply:)`: the mechanism (the named one, or SCRAM-SHA-256 if the
///    server lists it for the user, else SCRAM-SHA-1), then the rest of the conversation. When
///    the reply answered the speculative step for that mechanism, it goes on from there (one
///    round trip saved: with skipEmptyExchange a SCRAM-SHA-256 login is the hello plus one
///    saslContinue); otherwise it starts over with `saslStart` (or `authenticate` for X.509).
///
/// Key derivation happens here, on the thread that establishes the connection (a worker
/// thread or the application's), never on the monitor's loop; the pool's `ScramKeyCache` makes
/// it once per credential and salt. Monitoring and RTT connections never come here.
struct ConnectionAuthentication {
    let credential: MongoCredential
    let keyCache: ScramKeyCache
    let server: ServerAddress

    /// What the hello carries, and the conversation it started.
    struct Opening: Sendable {
        var saslSupportedMechs: String?
        var speculativeAuthenticate: BSONDocument?
        /// The mechanism of the speculative step.
        var speculated: AuthMechanism
        /// The SCRAM conversation whose first message the hello carries.
        var conversation: ScramClientConversation?
    }

    func opening() throws(ConnectionError) -> Opening {
        let speculated = credential.mechanism ?? .scramSHA256
        let negotiate = credential.mechanism == nil
        let mechs = negotiate ? credential.username.map { "\(credential.source).\($0)" } : nil
        if speculated == .x509 {
            return Opening(saslSupportedMechs: mechs, speculativeAuthenticate: x509Command(withDatabase: true),
                           speculated: .x509, conversation: nil)
        }
        let conversation = try scramConversation(for: speculated)
        return Opening(saslSupportedMechs: mechs, speculativeAuthenticate: conversation.speculativeAuthenticateCommand,
                       speculated: speculated, conversation: conversation)
    }

    /// The mechanism this connection uses: the credential's, or the negotiated one.
    func mechanism(helloReply: BSONDocument) -> AuthMechanism {
        if let named = credential.mechanism { return named }
        let offered = helloReply["saslSupportedMechs"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return offered.contains(AuthMechanism.scramSHA256.rawValue) ? .scramSHA256 : .scramSHA1
    }

    /// Finishes authenticating, as steps: the first command to send (nil: authenticated
    /// already, by the speculative step), and the exchange that takes each reply. Both faces
    /// drive it, the blocking one with `poll()`, the async one from the loop.
    /// - Throws: `ConnectionError` of kind `.authentication` naming the user, mechanism,
    ///   database and server (never the password).
    func exchange(_ opening: Opening, helloReply: BSONDocument) throws(ConnectionError) -> AuthenticationExchange {
        let mechanism = mechanism(helloReply: helloReply)
        let speculativeReply = helloReply["speculativeAuthenticate"]?.documentValue
        if mechanism == .x509 {
            if opening.speculated == .x509, speculativeReply != nil { return AuthenticationExchange(authentication: self, stage: .done) }
            return AuthenticationExchange(authentication: self, stage: .x509, command: x509Command(withDatabase: false))
        }
        if opening.speculated == mechanism, let speculativeReply, var conversation = opening.conversation {
            let command: BSONDocument?
            do { command = try conversation.nextCommand(after: speculativeReply) } catch { throw failure(error) }
            return AuthenticationExchange(authentication: self, stage: command == nil ? .done : .scram(conversation), command: command)
        }
        let conversation = try scramConversation(for: mechanism)
        return AuthenticationExchange(authentication: self, stage: .scram(conversation), command: conversation.saslStartCommand)
    }

    /// Runs the whole exchange through `run`, which sends one command to a database and
    /// returns its reply (whatever its `ok`): for the single-threaded client, whose connection
    /// finishes authenticating at its first use.
    func complete(
        _ opening: Opening, helloReply: BSONDocument, run: (BSONDocument, String) throws(ConnectionError) -> BSONDocument
    ) throws(ConnectionError) {
        var exchange = try exchange(opening, helloReply: helloReply)
        while let command = exchange.command {
            try exchange.receive(try run(command, exchange.database))
        }
    }

    // MARK: - Pieces

    private func scramConversation(for mechanism: AuthMechanism) throws(ConnectionError) -> ScramClientConversation {
        let scram: ScramMechanism = mechanism == .scramSHA1 ? .sha1 : .sha256
        do {
            return try ScramClientConversation(
                mechanism: scram, username: credential.username ?? "", password: credential.password ?? "",
                database: credential.source, server: server.description, keyCache: keyCache)
        } catch {
            throw failure(error)
        }
    }

    /// MONGODB-X509's `authenticate` (the user is optional on 3.4+: the server takes the
    /// certificate's subject); `db` only in the speculative form.
    private func x509Command(withDatabase: Bool) -> BSONDocument {
        var command: BSONDocument = ["authenticate": 1, "mechanism": .string(AuthMechanism.x509.rawValue)]
        if let username = credential.username { command.append("user", .string(username)) }
        if withDatabase { command.append("db", .string(credential.source)) }
        return command
    }

    fileprivate func failure(_ error: AuthenticationError) -> ConnectionError {
        var error = error
        error.server = server.description
        let code: Int? = if case .commandFailed(let code, _, _) = error.reason { code } else { nil }
        return failure(AuthenticationFailure(server: server, username: credential.username, mechanism: error.mechanism,
                                             database: credential.source, reason: error.reason.description, code: code))
    }

    fileprivate func failure(_ mechanism: AuthMechanism, commandFailed reply: BSONDocument) -> ConnectionError {
        let code = reply["code"]?.int64Value.flatMap { Int(exactly: $0) }
        let message = reply["errmsg"]?.stringValue ?? "the server answered ok: 0"
        return failure(AuthenticationFailure(server: server, username: credential.username, mechanism: mechanism.rawValue,
                                             database: credential.source, reason: message, code: code))
    }

    private func failure(_ failure: AuthenticationFailure) -> ConnectionError {
        ConnectionError(kind: .authentication(failure), server: server, phase: .beforeHandshakeCompletes, reason: failure.description)
    }
}

/// One connection's authentication after the hello: the command to send next (to the
/// credential's source database), and what to do with each reply.
struct AuthenticationExchange {
    fileprivate enum Stage {
        case x509
        case scram(ScramClientConversation)
        case done
    }

    fileprivate let authentication: ConnectionAuthentication
    fileprivate var stage: Stage
    /// The command to send now, nil once authenticated.
    private(set) var command: BSONDocument?

    fileprivate init(authentication: ConnectionAuthentication, stage: Stage, command: BSONDocument? = nil) {
        self.authentication = authentication
        self.stage = stage
        self.command = command
    }

    var database: String { authentication.credential.source }

    /// Takes the reply to `command`; `command` is then the next one, or nil when done.
    mutating func receive(_ reply: BSONDocument) throws(ConnectionError) {
        switch stage {
        case .x509:
            guard reply["ok"]?.isTruthy == true else { throw authentication.failure(.x509, commandFailed: reply) }
            stage = .done
            command = nil
        case .scram(var conversation):
            do { command = try conversation.nextCommand(after: reply) } catch { throw authentication.failure(error) }
            stage = command == nil ? .done : .scram(conversation)
        case .done:
            command = nil
        }
    }
}
