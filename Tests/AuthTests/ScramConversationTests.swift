import Testing
import MongoAuth
import MongoBSON

/// The client against the server side end to end, and every refusal the client and the server
/// owe: wrong password, forged signature, weak iteration count, foreign nonce, bad messages.
@Suite struct ScramConversationTests {
    // MARK: - End to end

    @Test(arguments: ScramMechanism.allCases)
    func clientAuthenticatesAgainstServerInTwoRoundTrips(mechanism: ScramMechanism) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "s3cret \u{2163}", mechanism)])
        var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "s3cret \u{2163}")
        let sent = try converse(&client, with: &server)
        #expect(sent.count == 2)
        #expect(sent.map { $0.keys.first } == ["saslStart", "saslContinue"])
        #expect(client.isComplete)
        #expect(server.authenticatedUser == "alice")
        // A stray reply afterwards is refused and does not undo the authentication.
        #expect(throws: AuthenticationError.self) { try client.nextCommand(after: ["ok": 0.0, "code": 18]) }
        #expect(client.isComplete)
    }

    /// Servers before 4.4 ignore skipEmptyExchange and want one more, empty, round trip.
    @Test(arguments: ScramMechanism.allCases)
    func clientFinishesWithAnEmptyExchangeForOldServers(mechanism: ScramMechanism) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", mechanism)], conversationId: 7)
        var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "pw")
        let sent = try converse(&client, with: &server, oldServer: true)
        #expect(sent.count == 3)
        #expect(sent[2] == ["saslContinue": 1, "conversationId": .int32(7), "payload": .binary(BSONBinary(subtype: 0, data: []))])
        #expect(client.isComplete)
        #expect(server.authenticatedUser == "alice")
    }

    /// SCRAM-SHA-256 passwords are SASLprep'd on both sides: equivalent spellings authenticate
    /// (the auth spec's test users "IX" and U+2168).
    @Test(arguments: [("IX", "IX", "I\u{00AD}X"), ("\u{2168}", "\u{2163}", "I\u{00AD}V")])
    func saslPrepEquivalentPasswordsAuthenticate(username: String, stored: String, typed: String) throws {
        var server = ScramServerConversation(credentials: [try credential(username, stored, .sha256)])
        var client = try ScramClientConversation(mechanism: .sha256, username: username, password: typed)
        try converse(&client, with: &server)
        #expect(server.authenticatedUser == username)
    }

    /// The hello reply's `speculativeAuthenticate` document (a SASL reply without `ok`) takes the
    /// place of the saslStart reply.
    @Test func speculativeAuthenticationContinuesFromTheHelloReply() throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        let speculative = client.speculativeAuthenticateCommand
        #expect(speculative["db"] == "admin")
        let helloReply = BSONDocument(server.reply(to: speculative).elements.filter { $0.key != "ok" })
        let clientFinal = try #require(try client.nextCommand(after: helloReply))
        #expect(try client.nextCommand(after: server.reply(to: clientFinal)) == nil)
        #expect(client.isComplete)
    }

    // MARK: - What the server refuses

    @Test(arguments: ScramMechanism.allCases)
    func serverRefusesAWrongPassword(mechanism: ScramMechanism) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "right", mechanism)])
        var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "wrong", server: "db1:27017")
        #expect(throws: AuthenticationError(
            reason: .commandFailed(code: 18, codeName: "AuthenticationFailed", message: "Authentication failed."),
            mechanism: mechanism.name, username: "alice", database: "admin", server: "db1:27017")) {
            try converse(&client, with: &server)
        }
        #expect(server.authenticatedUser == nil)
    }

    @Test func serverReportsAuthenticationFailedAtTheMessageLevel() throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "right", .sha256)], nonce: "SERVER")
        var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "wrong", nonce: "CLIENT")
        let serverFirst = try server.serverFirstMessage(clientFirst: client.clientFirstMessage, mechanism: .sha256)
        #expect(serverFirst == "r=CLIENTSERVER,s=\(Base64.encode(testSalt)),i=4096")
        let clientFinal = try client.clientFinalMessage(serverFirst: serverFirst)
        #expect(throws: AuthenticationError(reason: .authenticationFailed, mechanism: "SCRAM-SHA-256", username: "alice")) {
            try server.serverFinalMessage(clientFinal: clientFinal)
        }
    }

    @Test func serverRefusesUnknownUsersAndMechanismsAndAForeignNonce() throws {
        var unknown = ScramServerConversation(credentials: [try credential("alice", "pw", .sha1)])
        let bob = try ScramClientConversation(mechanism: .sha1, username: "bob", password: "pw")
        #expect(unknown.reply(to: bob.saslStartCommand)["code"] == .int32(18))
        // alice has only a SCRAM-SHA-1 credential.
        var sha256 = ScramServerConversation(credentials: [try credential("alice", "pw", .sha1)])
        #expect(sha256.reply(to: try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw").saslStartCommand)["code"] == .int32(18))

        var plain = ScramServerConversation(credentials: [])
        let reply = plain.reply(to: SaslCommand.start(mechanism: "PLAIN", payload: Array("\0u\0p".utf8)))
        #expect(reply["codeName"] == "MechanismUnavailable")
        #expect(reply["ok"] == 0.0)

        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)], nonce: "SERVER")
        _ = try server.serverFirstMessage(clientFirst: "n,,n=alice,r=CLIENT", mechanism: .sha256)
        #expect(throws: AuthenticationError(reason: .nonceMismatch, mechanism: "SCRAM-SHA-256", username: "alice")) {
            try server.serverFinalMessage(clientFinal: "c=biws,r=CLIENTOTHER,p=AAAA")
        }
    }

    @Test(arguments: [
        "p=tls-unique,,n=alice,r=x",   // channel binding
        "n,a=admin,n=alice,r=x",      // authorization identity
        "n,,m=ext,n=alice,r=x",       // mandatory extension
        "n,,n=al=2Dice,r=x",          // "=" not followed by 3D or 2C
        "n,,r=x,n=alice",             // out of order
        "n,,n=alice",                 // no nonce
        "n,n=alice,r=x",              // no GS2 header
    ])
    func serverRefusesMalformedClientFirstMessages(message: String) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        do {
            _ = try server.serverFirstMessage(clientFirst: message, mechanism: .sha256)
            Issue.record("accepted \(message)")
        } catch {
            guard case .malformedClientMessage = error.reason else { Issue.record("\(error)"); return }
        }
    }

    @Test func serverRefusesSaslContinueOutOfOrderOrForAnotherConversation() throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        #expect(server.reply(to: SaslCommand.continue(conversationId: 1, payload: []))["codeName"] == "BadValue")
        var second = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        let client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        _ = second.reply(to: client.saslStartCommand)
        #expect(second.reply(to: SaslCommand.continue(conversationId: 2, payload: Array("c=biws".utf8)))["codeName"] == "BadValue")
    }

    // MARK: - What the client refuses

    @Test(arguments: ScramMechanism.allCases)
    func clientDetectsATamperedServerSignature(mechanism: ScramMechanism) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", mechanism)])
        var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "pw")
        let clientFinal = try #require(try client.nextCommand(after: server.reply(to: client.saslStartCommand)))
        let reply = server.reply(to: clientFinal)
        let tampered = rewritingPayload(reply) { text in
            var signature = Base64.decode(String(text.dropFirst(2)))!
            signature[0] ^= 0x01
            return "v=" + Base64.encode(signature)
        }
        #expect(throws: AuthenticationError(reason: .serverSignatureMismatch, mechanism: mechanism.name, username: "alice", database: "admin")) {
            try client.nextCommand(after: tampered)
        }
        #expect(!client.isComplete)
        // A failed conversation takes no more replies, not even the genuine one.
        #expect(throws: AuthenticationError.self) { try client.nextCommand(after: reply) }
    }

    /// A server that stored a credential with fewer than 4096 iterations (or a man in the middle
    /// asking for a cheap derivation) is refused before any derivation.
    @Test(arguments: ScramMechanism.allCases)
    func clientRefusesAnIterationCountBelow4096(mechanism: ScramMechanism) throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", mechanism, iterations: 4095)])
        var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "pw")
        #expect(throws: AuthenticationError(reason: .iterationCountTooLow(4095), mechanism: mechanism.name, username: "alice", database: "admin")) {
            try converse(&client, with: &server)
        }
        var atMinimum = ScramServerConversation(credentials: [try credential("alice", "pw", mechanism, iterations: 4096)])
        var accepted = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "pw")
        try converse(&accepted, with: &atMinimum)
    }

    @Test(arguments: [
        "r=OTHERxyz,s=QSXCR+Q6sek8bf92,i=4096",     // not the client's nonce
        "r=fyko,s=QSXCR+Q6sek8bf92,i=4096",          // a prefix of it only
        "r=fykoXYZ,s=QSXCR+Q6sek8bf92,i=4096",       // the client's nonce, no server part
    ])
    func clientRefusesANonceThatDoesNotExtendItsOwn(serverFirst: String) throws {
        var client = try ScramClientConversation(mechanism: .sha1, username: "user", password: "pencil", nonce: "fykoXYZ")
        #expect(throws: AuthenticationError(reason: .nonceMismatch, mechanism: "SCRAM-SHA-1", username: "user", database: "admin")) {
            try client.clientFinalMessage(serverFirst: serverFirst)
        }
    }

    @Test(arguments: [
        "r=fykoXYZabc,s=not base64!,i=4096",
        "r=fykoXYZabc,s=,i=4096",
        "r=fykoXYZabc,s=QSXCR+Q6sek8bf92",
        "r=fykoXYZabc,s=QSXCR+Q6sek8bf92,i=4096x",
        "r=fykoXYZabc,s=QSXCR+Q6sek8bf92,i=-4096",
        "r=fykoXYZabc,s=QSXCR+Q6sek8bf92,i=2147483648",
        "r=fykoXYZabc,s=QSXCR+Q6sek8bf92,i=99999999999999999999",
        "m=ext,r=fykoXYZabc,s=QSXCR+Q6sek8bf92,i=4096",
        "s=QSXCR+Q6sek8bf92,r=fykoXYZabc,i=4096",
        "",
        "r=fykoXYZabc,,s=QSXCR+Q6sek8bf92,i=4096",
    ])
    func clientRefusesMalformedServerFirstMessages(serverFirst: String) throws {
        var client = try ScramClientConversation(mechanism: .sha1, username: "user", password: "pencil", nonce: "fykoXYZ")
        do {
            _ = try client.clientFinalMessage(serverFirst: serverFirst)
            Issue.record("accepted \(serverFirst)")
        } catch {
            guard case .malformedServerMessage = error.reason else { Issue.record("\(error)"); return }
        }
    }

    @Test func clientReportsTheServersErrorAttribute() throws {
        var client = try ScramClientConversation(mechanism: .sha256, username: "user", password: "pencil", nonce: "rOprNGfwEbeRWgbNEkqO")
        _ = try client.clientFinalMessage(serverFirst: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
        #expect(throws: AuthenticationError(reason: .serverReportedError("invalid-proof"), mechanism: "SCRAM-SHA-256", username: "user", database: "admin")) {
            try client.verifyServerFinal("e=invalid-proof")
        }
    }

    @Test func clientRefusesRepliesOutOfOrder() throws {
        var early = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        #expect(throws: AuthenticationError.self) {
            try early.nextCommand(after: ["conversationId": 1, "done": true, "payload": .binary(BSONBinary(subtype: 0, data: [])), "ok": 1])
        }
        var noId = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        #expect(throws: AuthenticationError(reason: .unexpectedReply("the reply has no numeric conversationId"),
                                            mechanism: "SCRAM-SHA-256", username: "alice", database: "admin")) {
            try noId.nextCommand(after: ["done": false, "ok": 1])
        }
        // The server says done without its final message: it has proved nothing.
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        _ = try client.nextCommand(after: server.reply(to: client.saslStartCommand))
        do {
            _ = try client.nextCommand(after: ["conversationId": 1, "done": true, "payload": .binary(BSONBinary(subtype: 0, data: [])), "ok": 1])
            Issue.record("accepted done without a server signature")
        } catch {
            guard case .unexpectedReply = error.reason else { Issue.record("\(error)"); return }
        }
        #expect(!client.isComplete)
    }

    @Test func clientReportsOkZeroWithTheServersCodeAndMessage() throws {
        var client = try ScramClientConversation(mechanism: .sha1, username: "alice", password: "pw", database: "app")
        let error = #expect(throws: AuthenticationError.self) {
            try client.nextCommand(after: ["ok": 0.0, "errmsg": "Authentication failed.", "code": 18, "codeName": "AuthenticationFailed"])
        }
        #expect(error?.reason == .commandFailed(code: 18, codeName: "AuthenticationFailed", message: "Authentication failed."))
        #expect(error?.description == "SCRAM-SHA-1 authentication of user \"alice\" on database \"app\" failed: the server answered ok: 0 (AuthenticationFailed, code 18): Authentication failed.")
    }

    /// Old servers answer base64 strings for payloads.
    @Test func clientAcceptsAStringPayload() throws {
        var server = ScramServerConversation(credentials: [try credential("alice", "pw", .sha256)])
        var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw")
        let reply = server.reply(to: client.saslStartCommand)
        guard case .binary(let payload)? = reply["payload"] else { Issue.record("no payload"); return }
        let asString = BSONDocument(reply.elements.map { $0.key == "payload" ? (key: "payload", value: .string(Base64.encode(payload.data))) : $0 })
        let final = try #require(try client.nextCommand(after: asString))
        #expect(try client.nextCommand(after: server.reply(to: final)) == nil)
    }

    // MARK: - Usernames and nonces

    @Test func usernamesAreEscapedNotPrepared() throws {
        let client = try ScramClientConversation(mechanism: .sha256, username: "a=b,c\u{00AD}", password: "pw", nonce: "N")
        #expect(client.clientFirstMessage == "n,,n=a=3Db=2Cc\u{00AD},r=N")
        // End to end, the server unescapes to the stored name.
        var server = ScramServerConversation(credentials: [try credential("=,x,=", "pw", .sha256)])
        var escaped = try ScramClientConversation(mechanism: .sha256, username: "=,x,=", password: "pw")
        #expect(escaped.clientFirstMessage.hasPrefix("n,,n==3D=2Cx=2C=3D,r="))
        try converse(&escaped, with: &server)
        #expect(server.authenticatedUser == "=,x,=")
    }

    @Test func randomNoncesAre32PrintableCharactersAndDiffer() throws {
        let first = try ScramClientConversation(mechanism: .sha256, username: "u", password: "p").clientFirstMessage
        let second = try ScramClientConversation(mechanism: .sha256, username: "u", password: "p").clientFirstMessage
        let nonce = first.split(separator: ",").last!.dropFirst(2)
        #expect(nonce.count == 32)
        #expect(Base64.decode(String(nonce))?.count == 24)
        #expect(first != second)
    }

    @Test func conversationsRefuseAMissingUsernameOrAnInvalidNonce() {
        #expect(throws: AuthenticationError(reason: .missingUsername, mechanism: "SCRAM-SHA-256", username: "", database: "admin")) {
            try ScramClientConversation(mechanism: .sha256, username: "", password: "pw")
        }
        for nonce in ["", "a,b", "caf\u{E9}", "a b"] {
            #expect(throws: AuthenticationError(reason: .invalidNonce, mechanism: "SCRAM-SHA-1", username: "u", database: "admin")) {
                try ScramClientConversation(mechanism: .sha1, username: "u", password: "pw", nonce: nonce)
            }
        }
    }

    @Test func aPasswordSASLprepRefusesIsReportedForSha256Only() throws {
        #expect(throws: AuthenticationError(reason: .invalidPassword(SASLprepError(rule: .asciiControl, codePoint: "\u{7}")),
                                            mechanism: "SCRAM-SHA-256", username: "u", database: "admin")) {
            try ScramClientConversation(mechanism: .sha256, username: "u", password: "bell\u{7}")
        }
        _ = try ScramClientConversation(mechanism: .sha1, username: "u", password: "bell\u{7}")
    }
}
