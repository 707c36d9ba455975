import Testing
import MongoAuth
import MongoBSON
import MongoTLS

/// The client conversation against the published example conversations: RFC 5802's
/// SCRAM-SHA-1, RFC 7677's SCRAM-SHA-256, and the auth spec's MongoDB versions of both.
@Suite struct ScramVectorTests {
    /// RFC 5802 section 5. The RFC salts the password itself, so the conversation is given the
    /// already-prepared password "pencil" (MongoDB would salt its MD5 digest; see below).
    @Test func rfc5802ScramSha1Example() throws {
        try checkExample(
            try ScramClientConversation(mechanism: .sha1, username: "user", preparedPassword: Array("pencil".utf8), nonce: "fyko+d2lbbFgONRv9qkxdawL"),
            clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            serverFirst: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            clientFinal: "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
        )
    }

    /// RFC 7677 section 3 (also the auth spec's SCRAM-SHA-256 example): the password goes
    /// through SASLprep, which leaves "pencil" alone.
    @Test func rfc7677ScramSha256Example() throws {
        try checkExample(
            try ScramClientConversation(mechanism: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO"),
            clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        )
    }

    /// The same example through the server side: given the RFC's salt, count and server nonce,
    /// it sends the RFC's messages and accepts the RFC's proof.
    @Test func rfc7677ExampleFromTheServerSide() throws {
        let stored = try ScramCredential(username: "user", password: "pencil", mechanism: .sha256,
                                         salt: Base64.decode("W22ZaJ0SNY7soEsUEjb6gQ==")!, iterations: 4096)
        var server = ScramServerConversation(credentials: [stored], nonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0")
        #expect(try server.serverFirstMessage(clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", mechanism: .sha256)
            == "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(try server.serverFinalMessage(clientFinal: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
        #expect(server.authenticatedUser == "user")
    }

    /// Runs an example conversation at the message level.
    private func checkExample(_ conversation: ScramClientConversation, clientFirst: String, serverFirst: String,
                              clientFinal: String, serverFinal: String) throws {
        var conversation = conversation
        #expect(conversation.clientFirstMessage == clientFirst)
        #expect(try conversation.clientFinalMessage(serverFirst: serverFirst) == clientFinal)
        try conversation.verifyServerFinal(serverFinal)
        #expect(conversation.isComplete)
    }

    /// MongoDB's SCRAM-SHA-1 password: HEX(MD5(username ":mongo:" password)), lower case. The
    /// auth spec's MONGODB-CR example checks it independently: its key is
    /// HEX(MD5(nonce + username + digest)).
    @Test func mongoDBScramSha1PasswordDigest() throws {
        let digest = try ScramMechanism.sha1.preparePassword(username: "user", password: "pencil")
        #expect(String(decoding: digest, as: UTF8.self) == "1c33006ec1ffd90f9cadcbcc0e118200")
        let key = Crypto.hash(.md5, Array("2375531c32080ae8user".utf8) + digest)
        #expect(hex(key) == "21742f26431831d5cfca035a08c5bdf6")
        // No SASLprep for SCRAM-SHA-1: a soft hyphen stays in the digested text.
        #expect(try ScramMechanism.sha1.preparePassword(username: "user", password: "pen\u{AD}cil") != digest)
        #expect(try ScramMechanism.sha256.preparePassword(username: "user", password: "pen\u{AD}cil") == Array("pencil".utf8))
    }

    /// The auth spec's SCRAM-SHA-1 conversation over MongoDB's SASL commands, with the hashed
    /// password: every payload byte for byte, and the short (skipEmptyExchange) ending.
    @Test func authSpecScramSha1CommandConversation() throws {
        var conversation = try ScramClientConversation(mechanism: .sha1, username: "user", password: "pencil",
                                                       nonce: "fyko+d2lbbFgONRv9qkxdawL")
        let start = conversation.saslStartCommand
        #expect(start == [
            "saslStart": 1, "mechanism": "SCRAM-SHA-1",
            "payload": binary("biwsbj11c2VyLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdM"),
            "autoAuthorize": 1, "options": ["skipEmptyExchange": true],
        ])
        let next = try conversation.nextCommand(after: [
            "conversationId": 1,
            "payload": binary("cj1meWtvK2QybGJiRmdPTlJ2OXFreGRhd0xIbytWZ2s3cXZVT0tVd3VXTElXZzRsLzlTcmFHTUhFRSxzPXJROVpZM01udEJldVAzRTFURFZDNHc9PSxpPTEwMDAw"),
            "done": false, "ok": 1,
        ])
        #expect(next == [
            "saslContinue": 1, "conversationId": 1,
            "payload": binary("Yz1iaXdzLHI9ZnlrbytkMmxiYkZnT05Sdjlxa3hkYXdMSG8rVmdrN3F2VU9LVXd1V0xJV2c0bC85U3JhR01IRUUscD1NQzJUOEJ2Ym1XUmNrRHc4b1dsNUlWZ2h3Q1k9"),
        ])
        let last = try conversation.nextCommand(after: [
            "conversationId": 1, "payload": binary("dj1VTVdlSTI1SkQxeU5ZWlJNcFo0Vkh2aFo5ZTA9"), "done": true, "ok": 1,
        ])
        #expect(last == nil)
        #expect(conversation.isComplete)
    }

    /// The auth spec's SCRAM-SHA-256 conversation, with the longer ending of servers before 4.4:
    /// `done: false` after the server's signature, then an empty saslContinue.
    @Test func authSpecScramSha256CommandConversationWithTheExtraRoundTrip() throws {
        var conversation = try ScramClientConversation(mechanism: .sha256, username: "user", password: "pencil",
                                                       nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(conversation.saslStartCommand["payload"] == binary("biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="))
        let next = try conversation.nextCommand(after: [
            "conversationId": 1,
            "payload": binary("cj1yT3ByTkdmd0ViZVJXZ2JORWtxTyVodllEcFdVYTJSYVRDQWZ1eEZJbGopaE5sRiRrMCxzPVcyMlphSjBTTlk3c29Fc1VFamI2Z1E9PSxpPTQwOTY="),
            "done": false, "ok": 1,
        ])
        #expect(next?["payload"] == binary("Yz1iaXdzLHI9ck9wck5HZndFYmVSV2diTkVrcU8laHZZRHBXVWEyUmFUQ0FmdXhGSWxqKWhObEYkazAscD1kSHpiWmFwV0lrNGpVaE4rVXRlOXl0YWc5empmTUhnc3FtbWl6N0FuZFZRPQ=="))
        let empty = try conversation.nextCommand(after: [
            "conversationId": 1, "payload": binary("dj02cnJpVFJCaTIzV3BSUi93dHVwK21NaFVaVW4vZEI1bkxUSlJzamw5NUc0PQ=="), "done": false, "ok": 1,
        ])
        #expect(empty == ["saslContinue": 1, "conversationId": 1, "payload": .binary(BSONBinary(subtype: 0, data: []))])
        #expect(!conversation.isComplete)
        #expect(try conversation.nextCommand(after: ["conversationId": 1, "payload": binary(""), "done": true, "ok": 1]) == nil)
        #expect(conversation.isComplete)
    }

    /// The handshake spec: the SCRAM conversation's fields plus `db`, the authentication database.
    @Test func speculativeAuthenticateDocument() throws {
        let conversation = try ScramClientConversation(mechanism: .sha256, username: "user", password: "pencil",
                                                       database: "accounts", nonce: "rOprNGfwEbeRWgbNEkqO")
        #expect(conversation.speculativeAuthenticateCommand == [
            "saslStart": 1, "mechanism": "SCRAM-SHA-256",
            "payload": binary("biwsbj11c2VyLHI9ck9wck5HZndFYmVSV2diTkVrcU8="),
            "options": ["skipEmptyExchange": true], "db": "accounts",
        ])
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { byte -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    private func binary(_ base64: String) -> BSON {
        .binary(BSONBinary(subtype: 0, data: Base64.decode(base64)!))
    }
}
