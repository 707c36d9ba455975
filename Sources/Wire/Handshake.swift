import MongoBSON
import SDAMCore

/// The hello commands a connection sends — the handshake of a new connection and the checks
/// after it — and the reading of their replies. Shared by the monitor's connections and the
/// application's, so both speak to servers the same way (handshake spec, server-monitoring spec).
public enum Handshake {

    /// The value of the handshake's `backpressure` field: the version of the client
    /// backpressure spec this driver declares it follows, so that the server can tell which
    /// clients handle its overload errors. The handshake spec requires the string "2" (not the
    /// number 2, and no longer the boolean `true` of the spec's first version).
    public static let backpressureVersion = "2"

    /// The first message on a new connection, over OP_MSG as the handshake spec requires of
    /// every handshake: legacy hello (`isMaster`) with `helloOk: true`, so that the reply says
    /// whether later checks may use `hello`; with `loadBalanced`, `hello` and
    /// `loadBalanced: true`. It carries `backpressure: "2"` and the `client` document (at most
    /// 512 bytes; see `ClientMetadata.document`).
    /// Monitoring connections never authenticate, so theirs carries neither of the two
    /// authentication fields; an application connection with credentials adds
    /// `saslSupportedMechs` ("source.user", when the mechanism is to be negotiated) and
    /// `speculativeAuthenticate` (the first step of the conversation, saving a round trip).
    ///
    /// PoolMonitor adds `handshakeMessage(requestID:appName:loadBalanced:)`, which fills the
    /// metadata with what it read of the host.
    public static func handshakeMessage(
        requestID: Int32, metadata: ClientMetadata, loadBalanced: Bool = false,
        saslSupportedMechs: String? = nil, speculativeAuthenticate: BSONDocument? = nil
    ) -> WireMessage {
        var command: BSONDocument = loadBalanced ? ["hello": .int32(1)] : ["isMaster": .int32(1)]
        command.append("helloOk", .bool(true))
        command.append("backpressure", .string(backpressureVersion))
        command.append("client", .document(metadata.document))
        if loadBalanced { command.append("loadBalanced", .bool(true)) }
        if let saslSupportedMechs { command.append("saslSupportedMechs", .string(saslSupportedMechs)) }
        if let speculativeAuthenticate { command.append("speculativeAuthenticate", .document(speculativeAuthenticate)) }
        command.append("$db", .string("admin"))
        return WireMessage(requestID: requestID, payload: .msg(OpMsg(body: command.encoded())))
    }

    /// A check on an established connection: `hello` when the handshake reply said `helloOk`,
    /// else legacy `isMaster`, over OP_MSG.
    public static func checkMessage(requestID: Int32, useHello: Bool) -> WireMessage {
        var command: BSONDocument = useHello ? ["hello": .int32(1)] : ["isMaster": .int32(1)]
        command.append("helloOk", .bool(true))
        command.append("$db", .string("admin"))
        return WireMessage(requestID: requestID, payload: .msg(OpMsg(body: command.encoded())))
    }

    /// An awaitable hello (streaming protocol): the server answers when its topologyVersion
    /// moves past `topologyVersion` or after `maxAwaitTimeMS`, and with `exhaustAllowed` keeps
    /// sending replies (`moreToCome`) without further requests.
    public static func awaitableHelloMessage(
        requestID: Int32, useHello: Bool, topologyVersion: TopologyVersion, maxAwaitTimeMS: Int64
    ) -> WireMessage {
        var command: BSONDocument = useHello ? ["hello": .int32(1)] : ["isMaster": .int32(1)]
        command.append("helloOk", .bool(true))
        command.append("topologyVersion", .document([
            "processId": .objectID(topologyVersion.processId), "counter": .int64(topologyVersion.counter),
        ]))
        command.append("maxAwaitTimeMS", .int64(maxAwaitTimeMS))
        command.append("$db", .string("admin"))
        return WireMessage(requestID: requestID, payload: .msg(OpMsg(flags: .exhaustAllowed, body: command.encoded())))
    }

    /// A command on an application connection: the document with `$db` added, over OP_MSG.
    public static func commandMessage(requestID: Int32, command: BSONDocument, database: String) -> WireMessage {
        var body = command
        body["$db"] = .string(database)
        return WireMessage(requestID: requestID, payload: .msg(OpMsg(body: body.encoded())))
    }

    /// The reply document of a hello or command reply, OP_MSG or OP_REPLY.
    /// - Throws: `ReplyError` naming the server when the message holds no usable document.
    public static func replyDocument(of message: WireMessage, from server: ServerAddress) throws(ReplyError) -> BSONDocument {
        let bytes: [UInt8]
        switch message.payload {
        case .msg(let msg):
            bytes = msg.body
        case .reply(let reply):
            if reply.responseFlags.contains(.queryFailure) {
                let detail = reply.documents.first.flatMap { try? BSONDocument(bytes: $0) }?["$err"]?.stringValue ?? "no $err"
                throw ReplyError(server: server, reason: "legacy reply has the QueryFailure flag: \(detail)")
            }
            guard reply.documents.count == 1 else {
                throw ReplyError(server: server, reason: "expected exactly one document in OP_REPLY, got \(reply.documents.count)")
            }
            bytes = reply.documents[0]
        case .query:
            throw ReplyError(server: server, reason: "expected a reply (OP_MSG or OP_REPLY), got OP_QUERY")
        }
        do {
            return try BSONDocument(bytes: bytes)
        } catch {
            throw ReplyError(server: server, reason: "reply is not valid BSON: \(error)")
        }
    }
}

/// A reply that is well framed but unusable (no document, malformed BSON, QueryFailure).
public struct ReplyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var server: ServerAddress
    public var reason: String

    public init(server: ServerAddress, reason: String) {
        self.server = server
        self.reason = reason
    }

    public var description: String { "from \(server): \(reason)" }
}
