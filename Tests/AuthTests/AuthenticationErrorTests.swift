import Testing
import MongoAuth
import MongoBSON

/// Errors name the user, mechanism, database and server, and never the password or anything
/// derived from it; nor do the conversations' and credentials' own descriptions.
@Suite struct AuthenticationErrorTests {
    private static let password = "Tr0ub4dor&3-horse"

    @Test func descriptionNamesUserMechanismDatabaseAndServer() {
        let error = AuthenticationError(reason: .serverSignatureMismatch, mechanism: "SCRAM-SHA-256", username: "alice",
                                        database: "admin", server: "db1.example.com:27017")
        #expect(error.description == "SCRAM-SHA-256 authentication of user \"alice\" on database \"admin\" at db1.example.com:27017 failed: "
            + "the server's signature is wrong: the server does not know the password, or the conversation was tampered with")
        let bare = AuthenticationError(reason: .authenticationFailed, mechanism: "SCRAM-SHA-1", username: "bob")
        #expect(bare.description == "SCRAM-SHA-1 authentication of user \"bob\" failed: AuthenticationFailed: unknown user or wrong password")
    }

    /// Every failure a conversation can produce with this password, and the secrets that must not
    /// show in any of their descriptions.
    @Test(arguments: ScramMechanism.allCases)
    func noErrorDescriptionContainsThePasswordOrItsKeys(mechanism: ScramMechanism) throws {
        let password = Self.password
        var errors: [AuthenticationError] = []
        func record(_ body: () throws(AuthenticationError) -> Void) {
            do { try body() } catch { errors.append(error) }
        }
        let client = { () throws(AuthenticationError) in
            try ScramClientConversation(mechanism: mechanism, username: "alice", password: password, database: "app", server: "db1:27017")
        }
        let other = try credential("alice", "other", mechanism)
        let right = try credential("alice", password, mechanism)
        let weak = try credential("alice", password, mechanism, iterations: 1000)
        // Wrong password, as the server's ok: 0 and at the message level.
        record { () throws(AuthenticationError) in
            var server = ScramServerConversation(credentials: [other])
            var conversation = try client()
            try converse(&conversation, with: &server)
        }
        record { () throws(AuthenticationError) in
            var server = ScramServerConversation(credentials: [other])
            var conversation = try client()
            let serverFirst = try server.serverFirstMessage(clientFirst: conversation.clientFirstMessage, mechanism: mechanism)
            _ = try server.serverFinalMessage(clientFinal: try conversation.clientFinalMessage(serverFirst: serverFirst))
        }
        // Forged signature, low iteration count, foreign nonce, server error, malformed message.
        record { () throws(AuthenticationError) in
            var server = ScramServerConversation(credentials: [right])
            var conversation = try client()
            _ = try conversation.clientFinalMessage(serverFirst: try server.serverFirstMessage(clientFirst: conversation.clientFirstMessage, mechanism: mechanism))
            try conversation.verifyServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        }
        record { () throws(AuthenticationError) in
            var server = ScramServerConversation(credentials: [weak])
            var conversation = try client()
            try converse(&conversation, with: &server)
        }
        record { () throws(AuthenticationError) in var c = try client(); _ = try c.clientFinalMessage(serverFirst: "r=else,s=QSXCR+Q6sek8bf92,i=4096") }
        record { () throws(AuthenticationError) in var c = try client(); _ = try c.clientFinalMessage(serverFirst: "garbage") }
        record { () throws(AuthenticationError) in _ = try ScramClientConversation(mechanism: .sha256, username: "alice", password: password + "\u{7}") }
        #expect(errors.count == 7)

        let prepared = try mechanism.preparePassword(username: "alice", password: password)
        let keys = ScramKeys.derive(mechanism: mechanism, preparedPassword: prepared, salt: testSalt, iterations: 4096)
        let secrets = [password, String(decoding: prepared, as: UTF8.self), Base64.encode(keys.clientKey), Base64.encode(keys.serverKey),
                       Base64.encode(keys.storedKey), "\(keys.clientKey)", "\(keys.serverKey)", "\(prepared)"]
        for error in errors {
            #expect(error.username == "alice")
            #expect(error.description.contains("alice"))
            for text in [error.description, String(reflecting: error), "\(error.reason)"] {
                for secret in secrets { #expect(!text.contains(secret), "\(text)") }
            }
        }
    }

    /// Printing or dumping the values that hold secrets shows none of them.
    @Test func conversationsKeysAndCredentialsAreRedacted() throws {
        let conversation = try ScramClientConversation(mechanism: .sha256, username: "alice", password: Self.password)
        let keys = ScramKeys.derive(mechanism: .sha256, preparedPassword: Array(Self.password.utf8), salt: testSalt, iterations: 4096)
        let stored = try credential("alice", Self.password, .sha256)
        let secretBytes = [Array(Self.password.utf8), keys.clientKey, keys.serverKey, keys.storedKey, stored.storedKey, stored.serverKey]
        for value in [conversation, keys, stored] as [Any] {
            let dumped = flatDump(value)
            for text in [String(describing: value), String(reflecting: value), dumped] {
                #expect(!text.contains(Self.password))
                for secret in secretBytes {
                    #expect(!text.contains("\(secret)"))
                    // How dump lists an array: one element a line.
                    #expect(!text.contains(flatDump(secret).split(separator: "\n").dropFirst().joined(separator: "\n")))
                }
            }
        }
    }

    /// `dump` output with each line's indentation removed, so nested and top-level dumps compare.
    private func flatDump(_ value: Any) -> String {
        var out = ""
        dump(value, to: &out)
        return out.split(separator: "\n").map { $0.drop(while: { $0 == " " }) }.joined(separator: "\n")
    }
}
