import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The in-memory data of one server, or of a whole replica set (whose members share one store:
/// a write on the primary is visible on every member at once). Pure value.
public struct DataStore: Sendable {
    /// Documents per namespace ("db.collection"), in insertion order.
    public private(set) var collections: [String: [BSONDocument]] = [:]
    /// Wall-clock milliseconds of the last write (or of the store's creation): hello's
    /// `lastWrite.lastWriteDate`.
    public private(set) var lastWriteMS: Int64
    /// Writes so far: the increment of hello's `lastWrite.opTime.ts`.
    public private(set) var writeCount: UInt32 = 0
    /// Distinguishes the `_id`s this store generates from another store's.
    private let idPrefix: [UInt8]
    private var nextID: UInt64 = 1

    /// - Parameters:
    ///   - seed: makes generated `_id`s unique across stores.
    ///   - now: wall-clock milliseconds, the initial last write time.
    public init(seed: UInt32, now: Int64) {
        idPrefix = [UInt8(truncatingIfNeeded: seed >> 24), UInt8(truncatingIfNeeded: seed >> 16),
                    UInt8(truncatingIfNeeded: seed >> 8), UInt8(truncatingIfNeeded: seed)]
        lastWriteMS = now
    }

    /// Appends `documents` to `namespace`, giving an ObjectId `_id` to those without one.
    /// - Returns: how many were inserted.
    public mutating func insert(_ documents: [BSONDocument], into namespace: String, now: Int64) -> Int {
        var stored = collections[namespace] ?? []
        for var document in documents {
            if document["_id"] == nil {
                var bytes = idPrefix
                for shift in stride(from: 56, through: 0, by: -8) {
                    bytes.append(UInt8(truncatingIfNeeded: nextID >> UInt64(shift)))
                }
                nextID &+= 1
                if let id = BSONObjectID(bytes: bytes) {
                    document = BSONDocument([(key: "_id", value: .objectID(id))] + document.elements)
                }
            }
            stored.append(document)
        }
        collections[namespace] = stored
        lastWriteMS = max(lastWriteMS, now)
        writeCount &+= 1
        return documents.count
    }

    /// The documents of `namespace` whose top-level fields equal every field of `filter`, at
    /// most `limit` of them (0 or less: no limit).
    public func find(in namespace: String, filter: BSONDocument, limit: Int) -> [BSONDocument] {
        let matching = (collections[namespace] ?? []).filter { document in
            filter.elements.allSatisfy { document[$0.key] == $0.value }
        }
        return limit > 0 ? Array(matching.prefix(limit)) : matching
    }
}
