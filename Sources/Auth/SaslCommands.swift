import MongoBSON

/// The SASL command documents MongoDB's authentication runs on (auth spec, "SASL Mechanisms"),
/// without `$db`: the caller sends them to the authentication database and adds it there.
public enum SaslCommand {
    /// `{saslStart: 1, mechanism, payload: BinData(0, ...), autoAuthorize: 1, options: {skipEmptyExchange: true}}`.
    ///
    /// `skipEmptyExchange` lets a 4.4+ server answer `done: true` together with its final SCRAM
    /// message, saving the empty round trip older servers need; they ignore the option.
    public static func start(mechanism: String, payload: [UInt8], skipEmptyExchange: Bool = true) -> BSONDocument {
        var command: BSONDocument = [
            "saslStart": 1,
            "mechanism": .string(mechanism),
            "payload": binary(payload),
            "autoAuthorize": 1,
        ]
        if skipEmptyExchange { command.append("options", ["skipEmptyExchange": true]) }
        return command
    }

    /// The `speculativeAuthenticate` document of a `hello` (handshake spec, "Speculative
    /// Authentication"): `{saslStart: 1, mechanism, payload, options: {skipEmptyExchange: true},
    /// db}`, the fields of the auth spec's SCRAM conversation plus `db`, the authentication
    /// database (a `hello` goes to admin, so the database travels inside). No `autoAuthorize`:
    /// the spec's SCRAM conversation has none, and servers that authenticate speculatively (4.4+)
    /// ignore it.
    public static func speculativeStart(mechanism: String, payload: [UInt8], database: String) -> BSONDocument {
        [
            "saslStart": 1,
            "mechanism": .string(mechanism),
            "payload": binary(payload),
            "options": ["skipEmptyExchange": true],
            "db": .string(database),
        ]
    }

    /// `{saslContinue: 1, conversationId, payload: BinData(0, ...)}`, the conversation id as
    /// the server's reply gave it (of whatever numeric type).
    public static func `continue`(conversationId: BSON, payload: [UInt8]) -> BSONDocument {
        ["saslContinue": 1, "conversationId": conversationId, "payload": binary(payload)]
    }

    /// A payload as BSON binary of the generic subtype 0.
    static func binary(_ bytes: [UInt8]) -> BSON { .binary(BSONBinary(subtype: 0, data: bytes)) }
}

/// One SASL reply: to `saslStart`, to `saslContinue`, or the `speculativeAuthenticate` document
/// of a `hello` reply (the same fields without `ok`).
public struct SaslReply: Sendable, Equatable {
    public var conversationId: BSON
    public var done: Bool
    public var payload: [UInt8]

    public init(conversationId: BSON, done: Bool, payload: [UInt8]) {
        self.conversationId = conversationId
        self.done = done
        self.payload = payload
    }

    /// The reply document a server sends: `{conversationId, done, payload, ok: 1}`.
    public var document: BSONDocument {
        ["conversationId": conversationId, "done": .bool(done), "payload": SaslCommand.binary(payload), "ok": 1.0]
    }

    /// Reads a reply. `ok: 0` becomes `commandFailed` with the server's code and message; a
    /// payload may be binary or, as old servers answer string payloads, a base64 string.
    static func parse(_ reply: BSONDocument) throws(ScramFailure) -> SaslReply {
        if let ok = reply["ok"], !ok.isTruthy {
            throw ScramFailure(.commandFailed(
                code: reply["code"]?.int64Value.map { Int($0) },
                codeName: reply["codeName"]?.stringValue,
                message: reply["errmsg"]?.stringValue
            ))
        }
        guard let conversationId = reply["conversationId"], conversationId.int64Value != nil else {
            throw ScramFailure(.unexpectedReply("the reply has no numeric conversationId"))
        }
        let payload: [UInt8]
        switch reply["payload"] {
        case .binary(let binary)?: payload = binary.data
        case .string(let text)?:
            guard let bytes = Base64.decode(text) else { throw ScramFailure(.unexpectedReply("the payload string is not base64")) }
            payload = bytes
        case nil: payload = []
        case let other?: throw ScramFailure(.unexpectedReply("the payload is a \(other.typeName), not binary"))
        }
        return SaslReply(conversationId: conversationId, done: reply["done"]?.isTruthy ?? false, payload: payload)
    }
}
