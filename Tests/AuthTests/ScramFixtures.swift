import MongoAuth
import MongoBSON

/// Runs a client conversation against a server conversation over their SASL command documents,
/// as a connection and the simulator would, and returns the commands the client sent.
///
/// - Parameter oldServer: the server ignores `skipEmptyExchange` (as servers before 4.4 do).
@discardableResult
func converse(_ client: inout ScramClientConversation, with server: inout ScramServerConversation,
              oldServer: Bool = false) throws(AuthenticationError) -> [BSONDocument] {
    var sent: [BSONDocument] = []
    var command: BSONDocument? = client.saslStartCommand
    while let next = command {
        sent.append(next)
        let reply = server.reply(to: oldServer ? BSONDocument(next.elements.filter { $0.key != "options" }) : next)
        command = try client.nextCommand(after: reply)
    }
    return sent
}

/// A fixed salt, so that tests can derive what the server stored.
let testSalt: [UInt8] = Array("a fixed salt!!!!".utf8)

func credential(_ username: String, _ password: String, _ mechanism: ScramMechanism, iterations: Int = 4096) throws -> ScramCredential {
    try ScramCredential(username: username, password: password, mechanism: mechanism, salt: testSalt, iterations: iterations)
}

/// Replaces the payload of a reply document with `transform` of its text.
func rewritingPayload(_ reply: BSONDocument, _ transform: (String) -> String) -> BSONDocument {
    BSONDocument(reply.elements.map { element in
        guard element.key == "payload", case .binary(let binary) = element.value else { return element }
        let text = transform(String(decoding: binary.data, as: UTF8.self))
        return (key: "payload", value: .binary(BSONBinary(subtype: 0, data: Array(text.utf8))))
    })
}
