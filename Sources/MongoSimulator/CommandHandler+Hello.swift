import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

extension CommandHandler {
    /// hello / isMaster: the legacy command names answer `ismaster`, hello answers
    /// `isWritablePrimary`, whichever opcode carried them.
    static func hello(_ request: CommandRequest, server: ServerContext, store: DataStore, now: Int64) -> BSONDocument {
        let writableKey = request.name == "hello" ? "isWritablePrimary" : "ismaster"
        var reply = BSONDocument()
        if let set = server.replicaSet {
            if let version = server.topologyVersion { reply.append("topologyVersion", .document(version.document)) }
            reply.append("hosts", .array(set.members.map { .string($0) }))
            reply.append("setName", .string(set.name))
            reply.append("setVersion", .int32(set.setVersion))
            reply.append(writableKey, .bool(server.role == .primary))
            reply.append("secondary", .bool(server.role == .secondary))
            if let primary = set.primary { reply.append("primary", .string(primary)) }
            reply.append("me", .string(server.me))
            if server.role == .primary, let electionId = set.electionId {
                reply.append("electionId", .objectID(electionId))
            }
            reply.append("lastWrite", .document(lastWrite(store: store, term: set.term)))
        } else {
            reply.append(writableKey, .bool(true))
            if server.role == .mongos { reply.append("msg", .string("isdbgrid")) }
            // A mongos behind a load balancer names its service when the client says it
            // connects through one (load-balancers spec, "serviceId").
            if server.role == .mongos, request.command["loadBalanced"]?.isTruthy == true, let serviceId = server.serviceId {
                reply.append("serviceId", .objectID(serviceId))
            }
            if let version = server.topologyVersion { reply.append("topologyVersion", .document(version.document)) }
        }
        reply.append("maxBsonObjectSize", .int32(maxBsonObjectSize))
        reply.append("maxMessageSizeBytes", .int32(maxMessageSizeBytes))
        reply.append("maxWriteBatchSize", .int32(maxWriteBatchSize))
        reply.append("localTime", .datetime(now))
        reply.append("logicalSessionTimeoutMinutes", .int32(30))
        reply.append("connectionId", .int64(server.connectionId))
        reply.append("minWireVersion", .int32(minWireVersion))
        reply.append("maxWireVersion", .int32(maxWireVersion))
        reply.append("readOnly", .bool(false))
        if request.command["helloOk"]?.isTruthy == true { reply.append("helloOk", .bool(true)) }
        reply.append("ok", .double(1))
        return reply
    }

    /// `{opTime: {ts, t}, lastWriteDate, majorityOpTime, majorityWriteDate}`; every write is
    /// majority-committed at once, and dates have the servers' one-second granularity.
    private static func lastWrite(store: DataStore, term: Int64) -> BSONDocument {
        let seconds = store.lastWriteMS / 1000
        let opTime: BSON = .document([
            "ts": .timestamp(BSONTimestamp(timestamp: UInt32(clamping: seconds), increment: store.writeCount)),
            "t": .int64(term),
        ])
        let date: BSON = .datetime(seconds * 1000)
        return ["opTime": opTime, "lastWriteDate": date, "majorityOpTime": opTime, "majorityWriteDate": date]
    }
}
