import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The small in-memory `insert` and `find`, with the errors a real replica set member gives.
extension CommandHandler {
    static func insert(
        _ request: CommandRequest, server: ServerContext, store: inout DataStore, now: Int64
    ) -> Result<BSONDocument, CommandFailure> {
        guard server.role.isWritable else { return .failure(.notWritablePrimary()) }
        let namespace: String
        switch collectionNamespace(request) {
        case .success(let value): namespace = value
        case .failure(let failure): return .failure(failure)
        }
        guard let field = request.command["documents"] else { return .failure(.missingField("insert.documents")) }
        guard let array = field.arrayValue else {
            return .failure(.typeMismatch("BSON field 'insert.documents' is the wrong type '\(field.typeName)', expected type 'array'"))
        }
        var documents: [BSONDocument] = []
        for element in array {
            guard let document = element.documentValue else {
                return .failure(.typeMismatch("BSON field 'insert.documents' holds a '\(element.typeName)', expected documents"))
            }
            documents.append(document)
        }
        guard (1...Int(maxWriteBatchSize)).contains(documents.count) else {
            return .failure(CommandFailure(code: 16, codeName: "InvalidLength",
                                           message: "Write batch sizes must be between 1 and \(maxWriteBatchSize). Got \(documents.count) operations."))
        }
        let inserted = store.insert(documents, into: namespace, now: now)
        return .success(["n": .int32(Int32(clamping: inserted)), "ok": .double(1)])
    }

    static func find(
        _ request: CommandRequest, server: ServerContext, store: DataStore
    ) -> Result<BSONDocument, CommandFailure> {
        if server.role == .secondary, !allowsSecondary(request.command["$readPreference"]) {
            return .failure(.notPrimaryNoSecondaryOk())
        }
        let namespace: String
        switch collectionNamespace(request) {
        case .success(let value): namespace = value
        case .failure(let failure): return .failure(failure)
        }
        var filter = BSONDocument()
        if let value = request.command["filter"] {
            guard let document = value.documentValue else {
                return .failure(.typeMismatch("BSON field 'find.filter' is the wrong type '\(value.typeName)', expected type 'object'"))
            }
            filter = document
        }
        var limit = 0
        if let value = request.command["limit"] {
            guard let number = value.int64Value, number >= 0 else {
                return .failure(CommandFailure(code: 2, codeName: "BadValue", message: "limit must be a non-negative integer"))
            }
            limit = Int(clamping: number)
        }
        let batch = store.find(in: namespace, filter: filter, limit: limit)
        let cursor: BSONDocument = [
            "firstBatch": .array(batch.map { .document($0) }),
            "id": .int64(0),
            "ns": .string(namespace),
        ]
        return .success(["cursor": .document(cursor), "ok": .double(1)])
    }

    /// "db.collection" from the command's first value, which must be a collection name.
    private static func collectionNamespace(_ request: CommandRequest) -> Result<String, CommandFailure> {
        guard let collection = request.command[request.name]?.stringValue, !collection.isEmpty else {
            return .failure(CommandFailure(code: 73, codeName: "InvalidNamespace",
                                           message: "\(request.name) needs a collection name as its first value"))
        }
        return .success("\(request.database).\(collection)")
    }

    /// Whether `$readPreference` lets a secondary serve the read: any mode but primary.
    private static func allowsSecondary(_ readPreference: BSON?) -> Bool {
        guard let mode = readPreference?.documentValue?["mode"]?.stringValue else { return false }
        return mode != "primary"
    }
}
