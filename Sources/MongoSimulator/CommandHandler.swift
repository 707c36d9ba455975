import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Answers one command as a MongoDB 7.0 mongod or mongos would. Pure: the server's state, its
/// data and the wall-clock time come in as parameters.
public enum CommandHandler {
    /// The limits every simulated server reports.
    public static let maxBsonObjectSize: Int32 = 16 * 1024 * 1024
    public static let maxMessageSizeBytes: Int32 = 48_000_000
    public static let maxWriteBatchSize: Int32 = 100_000
    /// MongoDB 7.0's wire version.
    public static let maxWireVersion: Int32 = 21
    public static let minWireVersion: Int32 = 0

    /// The reply document for `request`.
    /// - Parameters:
    ///   - server: who answers.
    ///   - store: the server's data (shared by a replica set's members); writes change it.
    ///   - now: wall-clock milliseconds since the Unix epoch (`localTime`, write times).
    public static func reply(
        to request: CommandRequest, server: ServerContext, store: inout DataStore, now: Int64
    ) -> BSONDocument {
        let result: Result<BSONDocument, CommandFailure>
        switch request.name {
        case "hello", "isMaster", "ismaster":
            result = .success(hello(request, server: server, store: store, now: now))
        case "ping", "endSessions":
            // endSessions: drivers send it when they close (the simulator keeps no sessions).
            result = .success(["ok": .double(1)])
        case "buildInfo", "buildinfo":
            result = .success(buildInfo)
        case "insert":
            result = insert(request, server: server, store: &store, now: now)
        case "find":
            result = find(request, server: server, store: store)
        default:
            result = .failure(.commandNotFound(request.name))
        }
        switch result {
        case .success(let reply):
            return reply
        case .failure(let failure):
            let stateChange = failure.code == 10107 || failure.code == 13435
            var reply = failure.document(topologyVersion: stateChange ? server.topologyVersion : nil)
            if failure.code == 10107, isRetryableWrite(request) {
                reply["errorLabels"] = .array([.string("RetryableWriteError")])
            }
            return reply
        }
    }

    /// A write with a `txnNumber` outside a transaction: servers label its retryable errors so
    /// that drivers retry it once (drivers do not retry unlabelled errors on 4.4+ servers).
    private static func isRetryableWrite(_ request: CommandRequest) -> Bool {
        request.command["txnNumber"] != nil && request.command["autocommit"] == nil
    }

    static let buildInfo: BSONDocument = [
        "version": .string("7.0.0"),
        "gitVersion": .string("simulated"),
        "versionArray": .array([.int32(7), .int32(0), .int32(0), .int32(0)]),
        "bits": .int32(64),
        "maxBsonObjectSize": .int32(maxBsonObjectSize),
        "ok": .double(1),
    ]
}
