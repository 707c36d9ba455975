import MongoBSON
import SDAMCore

/// The hello commands a connection sends — the handshake of a new connection and the checks
/// after it — and the reading of their replies. Shared by the monitor's connections and the
/// application's, so both speak to servers the same way (handshake spec, server-monitoring spec).
public enum Handshake {

    /// The `client` document of the handshake: driver, OS, platform and the application name.
    public static func clientMetadata(appName: String?) -> BSONDocument {
        var client = BSONDocument()
        if let appName { client.append("application", .document(["name": .string(appName)])) }
        client.append("driver", .document(["name": .string(DriverIdentity.name), "version": .string(DriverIdentity.version)]))
        #if os(Linux)
        let osType = "Linux"
        #else
        let osType = "Darwin"
        #endif
        #if arch(x86_64)
        let architecture = "x86_64"
        #elseif arch(arm64)
        let architecture = "arm64"
        #else
        let architecture = "unknown"
        #endif
        client.append("os", .document(["type": .string(osType), "architecture": .string(architecture)]))
        client.append("platform", .string("Swift 6, libev"))
        return client
    }

    /// The first message on a new connection: legacy hello (`isMaster`) with `helloOk: true`
    /// over OP_QUERY, which every server answers whatever its version, as the handshake spec
    /// requires when no API version is declared; with `loadBalanced`, `hello` over OP_MSG.
    /// No authentication, no `saslSupportedMechs`: monitoring connections never authenticate.
    /// `backpressure: true` tells the server this driver handles its overload errors (client
    /// backpressure spec).
    public static func handshakeMessage(requestID: Int32, appName: String?, loadBalanced: Bool = false) -> WireMessage {
        if loadBalanced {
            var command: BSONDocument = ["hello": .int32(1), "helloOk": .bool(true)]
            command.append("client", .document(clientMetadata(appName: appName)))
            command.append("backpressure", .bool(true))
            command.append("loadBalanced", .bool(true))
            command.append("$db", .string("admin"))
            return WireMessage(requestID: requestID, payload: .msg(OpMsg(body: command.encoded())))
        }
        var command: BSONDocument = ["isMaster": .int32(1), "helloOk": .bool(true)]
        command.append("client", .document(clientMetadata(appName: appName)))
        command.append("backpressure", .bool(true))
        let query = OpQuery(flags: .secondaryOk, fullCollectionName: "admin.$cmd", query: command.encoded())
        return WireMessage(requestID: requestID, payload: .query(query))
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
