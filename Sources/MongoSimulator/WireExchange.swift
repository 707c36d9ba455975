import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// What a decoded wire message asks of a simulated server.
public enum WireRequest: Sendable, Equatable {
    /// A well-formed command, for `CommandHandler`.
    case command(CommandRequest)
    /// A request answered without looking at the server's state (a malformed or unsupported
    /// command): this error document goes back, flagged as a query failure on OP_REPLY when
    /// `queryFailure` is set.
    case failure(BSONDocument, queryFailure: Bool)
    /// The bytes make no sense as a request (a reply opcode from a client): close the
    /// connection.
    case protocolViolation(String)
}

/// Turns client messages into requests and reply documents into messages. Pure.
///
/// OP_MSG carries every command; OP_QUERY on "<db>.$cmd" is accepted only for the legacy
/// handshake (hello / isMaster), as MongoDB 6.0+ servers do, and is answered with OP_REPLY.
public enum WireExchange {
    /// Reads what `message` asks for.
    public static func request(from message: WireMessage) -> WireRequest {
        switch message.payload {
        case .msg(let msg): return request(from: msg)
        case .query(let query): return request(from: query)
        case .reply: return .protocolViolation("a client sent OP_REPLY, which only servers send")
        }
    }

    private static func request(from msg: OpMsg) -> WireRequest {
        var command: BSONDocument
        do {
            command = try BSONDocument(bytes: msg.body)
        } catch {
            return invalidBSON("the OP_MSG body", error)
        }
        for sequence in msg.documentSequences {
            var documents: [BSON] = []
            for raw in sequence.documents {
                do {
                    documents.append(.document(try BSONDocument(bytes: raw)))
                } catch {
                    return invalidBSON("document sequence \"\(sequence.identifier)\"", error)
                }
            }
            guard command[sequence.identifier] == nil else {
                let failure = CommandFailure(code: 40413, codeName: "Location40413",
                                             message: "duplicate field '\(sequence.identifier)' in the body and a document sequence")
                return .failure(failure.document(), queryFailure: false)
            }
            command.append(sequence.identifier, .array(documents))
        }
        guard let database = command["$db"]?.stringValue else {
            let failure = CommandFailure(code: 40571, codeName: "Location40571",
                                         message: "OP_MSG requests require a $db argument")
            return .failure(failure.document(), queryFailure: false)
        }
        guard !command.isEmpty, command.keys.first != "$db" else {
            return .failure(CommandFailure.commandNotFound("").document(), queryFailure: false)
        }
        return .command(CommandRequest(command: command, database: database))
    }

    private static func request(from query: OpQuery) -> WireRequest {
        let namespace = query.fullCollectionName
        guard namespace.hasSuffix(".$cmd"), namespace.count > 5 else {
            let failure: BSONDocument = [
                "$err": .string("OP_QUERY is no longer supported for '\(namespace)'; use OP_MSG"),
                "code": .int32(5739101),
                "ok": .double(0),
            ]
            return .failure(failure, queryFailure: true)
        }
        let database = String(namespace.dropLast(5))
        var command: BSONDocument
        do {
            command = try BSONDocument(bytes: query.query)
        } catch {
            return invalidBSON("the OP_QUERY query", error)
        }
        // Drivers may wrap the command as {$query: {...}, $readPreference: {...}}.
        if command.keys.first == "$query" || command.keys.first == "query",
           let inner = command[command.keys[0]]?.documentValue {
            var unwrapped = inner
            if let readPreference = command["$readPreference"] { unwrapped["$readPreference"] = readPreference }
            command = unwrapped
        }
        let request = CommandRequest(command: command, database: database, isLegacy: true)
        guard request.isHello else {
            let failure = CommandFailure(
                code: 352, codeName: "UnsupportedOpQueryCommand",
                message: "Unsupported OP_QUERY command: \(request.name). The client driver may require an upgrade.")
            return .failure(failure.document(), queryFailure: false)
        }
        return .command(request)
    }

    private static func invalidBSON(_ what: String, _ error: some Error) -> WireRequest {
        let failure = CommandFailure(code: 22, codeName: "InvalidBSON", message: "invalid BSON in \(what): \(error)")
        return .failure(failure.document(), queryFailure: false)
    }

    /// The message answering `request` with `document`: OP_REPLY for OP_QUERY, OP_MSG
    /// otherwise; nil when the request set moreToCome (the client wants no answer).
    /// - Parameters:
    ///   - responseTo: what the reply answers; the request's requestID unless given (an exhaust
    ///     stream's later replies answer the previous reply).
    ///   - moreToCome: an exhaust reply (OP_MSG only): the server will send another unasked.
    public static func reply(
        _ document: BSONDocument, queryFailure: Bool = false, to request: WireMessage, requestID: Int32,
        responseTo: Int32? = nil, moreToCome: Bool = false
    ) -> WireMessage? {
        let responseTo = responseTo ?? request.requestID
        switch request.payload {
        case .query:
            var flags: OpReply.Flags = [.awaitCapable]
            if queryFailure { flags.insert(.queryFailure) }
            return WireMessage(requestID: requestID, responseTo: responseTo,
                               payload: .reply(OpReply(responseFlags: flags, documents: [document.encoded()])))
        case .msg(let msg):
            if msg.flags.contains(.moreToCome) { return nil }
            return WireMessage(requestID: requestID, responseTo: responseTo,
                               payload: .msg(OpMsg(flags: moreToCome ? .moreToCome : [], body: document.encoded())))
        case .reply:
            return nil
        }
    }
}
