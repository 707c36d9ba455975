import MongoBSON
import MongoAuth

/// The users of a simulated deployment with their stored SCRAM keys, derived once when the
/// deployment starts and shared, read-only, by its servers.
struct UserDirectory: Sendable {
    let users: [SimulatedUser]
    let credentials: [ScramCredential]

    /// Derives each SCRAM user's stored keys (PBKDF2 once per user and mechanism).
    /// - Throws: `SimulatorError.invalidConfiguration` for a password SASLprep refuses.
    init(users: [SimulatedUser]) throws(SimulatorError) {
        self.users = users
        var credentials: [ScramCredential] = []
        for user in users {
            guard case .scram(let password, let mechanisms) = user.kind else { continue }
            for mechanism in mechanisms {
                do {
                    credentials.append(try ScramCredential(username: user.name, password: password, mechanism: mechanism))
                } catch {
                    throw .invalidConfiguration("user \(user.name): \(error)")
                }
            }
        }
        self.credentials = credentials
    }

    static let none = UserDirectory(empty: ())

    private init(empty: Void) {
        users = []
        credentials = []
    }
}

/// The authentication side of one simulated server: each connection's conversation and who
/// each connection proved to be, over the deployment's `UserDirectory`.
///
/// It answers `saslStart`, `saslContinue` and `authenticate`, adds `saslSupportedMechs` and
/// `speculativeAuthenticate` to handshake replies that ask for them, and refuses other commands
/// on connections that have not authenticated (Unauthorized, code 13) — only when the
/// deployment has users at all.
///
/// Loop-confined, one per simulated server (connection ids are the server's own).
final class ServerAuthentication {
    private let directory: UserDirectory
    private var users: [SimulatedUser] { directory.users }
    /// Conversations in progress, by connection (a connection runs one at a time).
    private var conversations: [Int64: ScramServerConversation] = [:]
    /// Who each connection authenticated as ("db.user").
    private(set) var authenticated: [Int64: String] = [:]
    private var nextConversationId: Int32 = 1

    /// Commands an unauthenticated connection may run (the handshake and what authenticating
    /// needs).
    private static let open: Set<String> = ["hello", "ismaster", "isMaster", "ping", "saslStart", "saslContinue", "authenticate",
                                            "buildInfo", "buildinfo", "endSessions", "configureFailPoint"]

    var isRequired: Bool { !users.isEmpty }

    init(directory: UserDirectory) {
        self.directory = directory
    }

    // MARK: - The handshake

    /// The handshake reply with `saslSupportedMechs` for the user it names and, when the hello
    /// carries `speculativeAuthenticate`, the answer to that first step.
    func decorate(hello reply: BSONDocument, request: BSONDocument, connection: Int64, certificateSubject: String?) -> BSONDocument {
        guard isRequired, reply["ok"]?.isTruthy == true else { return reply }
        var reply = reply
        if let name = request["saslSupportedMechs"]?.stringValue {
            reply["saslSupportedMechs"] = .array(mechanisms(of: name).map { .string($0) })
        }
        if let speculative = request["speculativeAuthenticate"]?.documentValue {
            let database = speculative["db"]?.stringValue ?? "admin"
            let answer = authenticationReply(to: speculative, database: database, connection: connection, certificateSubject: certificateSubject)
            if answer["ok"]?.isTruthy == true {
                reply["speculativeAuthenticate"] = .document(answer)
            }
        }
        return reply
    }

    /// The mechanisms a "db.user" may use (none for an unknown user).
    private func mechanisms(of qualifiedName: String) -> [String] {
        guard let user = users.first(where: { "\($0.database).\($0.name)" == qualifiedName }),
              case .scram(_, let mechanisms) = user.kind else { return [] }
        return mechanisms.map(\.name)
    }

    // MARK: - Commands

    /// The reply to an authentication command; nil for any other command.
    func reply(to command: BSONDocument, database: String, connection: Int64, certificateSubject: String?) -> BSONDocument? {
        guard let name = command.keys.first, ["saslStart", "saslContinue", "authenticate"].contains(name) else { return nil }
        return authenticationReply(to: command, database: database, connection: connection, certificateSubject: certificateSubject)
    }

    private func authenticationReply(to command: BSONDocument, database: String, connection: Int64, certificateSubject: String?) -> BSONDocument {
        if command["authenticate"] != nil || command["mechanism"]?.stringValue == "MONGODB-X509" {
            return x509(command, database: database, connection: connection, certificateSubject: certificateSubject)
        }
        var conversation: ScramServerConversation
        if command["saslStart"] != nil {
            conversation = ScramServerConversation(credentials: credentials(in: database), conversationId: nextConversationId)
            nextConversationId &+= 1
        } else if let ongoing = conversations[connection] {
            conversation = ongoing
        } else {
            return Self.failure(17, "ProtocolError", "No SASL session state found")
        }
        let reply = conversation.reply(to: command)
        if let user = conversation.authenticatedUser, reply["done"]?.isTruthy == true {
            authenticated[connection] = "\(database).\(user)"
            conversations[connection] = nil
        } else if reply["ok"]?.isTruthy == true {
            conversations[connection] = conversation
        } else {
            conversations[connection] = nil
        }
        return reply
    }

    /// The SCRAM credentials of the users defined on `database`.
    private func credentials(in database: String) -> [ScramCredential] {
        let names = Set(users.filter { $0.database == database }.map(\.name))
        return directory.credentials.filter { names.contains($0.username) }
    }

    /// MONGODB-X509: the connection's client certificate names a known `$external` user (and
    /// the command's `user`, when given, is that subject).
    private func x509(_ command: BSONDocument, database: String, connection: Int64, certificateSubject: String?) -> BSONDocument {
        guard database == "$external" else {
            return Self.failure(2, "BadValue", "X.509 authentication must be on the $external database")
        }
        guard let subject = certificateSubject else {
            return Self.failure(18, "AuthenticationFailed", "No verified subject name available from client")
        }
        if let claimed = command["user"]?.stringValue, claimed != subject {
            return Self.failure(18, "AuthenticationFailed", "There is no x.509 client certificate matching the user.")
        }
        guard users.contains(where: { $0.kind == .x509 && $0.name == subject }) else {
            return Self.failure(18, "AuthenticationFailed", "Could not find user \"\(subject)\" for db \"$external\"")
        }
        authenticated[connection] = "$external.\(subject)"
        return ["dbname": "$external", "user": .string(subject), "ok": 1.0]
    }

    /// Unauthorized for a command that needs an authenticated connection, or nil.
    func refusal(of command: String, connection: Int64) -> BSONDocument? {
        guard isRequired, authenticated[connection] == nil, !Self.open.contains(command) else { return nil }
        return Self.failure(13, "Unauthorized", "command \(command) requires authentication")
    }

    func connectionClosed(_ connection: Int64) {
        conversations[connection] = nil
        authenticated[connection] = nil
    }

    private static func failure(_ code: Int32, _ codeName: String, _ message: String) -> BSONDocument {
        ["ok": 0.0, "errmsg": .string(message), "code": .int32(code), "codeName": .string(codeName)]
    }
}
