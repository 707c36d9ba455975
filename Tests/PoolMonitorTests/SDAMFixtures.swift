@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Shared builders for the SDAM tests: addresses, hello replies, descriptions, settings.
enum SDAMFixtures {
    static func address(_ text: String) -> ServerAddress {
        guard let a = ServerAddress(text) else { fatalError("bad fixture address \(text)") }
        return a
    }

    static func oid(_ last: UInt8) -> BSONObjectID {
        BSONObjectID(bytes: Array(repeating: 0, count: 11) + [last])!
    }

    /// A hello reply; `fields` are appended after `ok: 1` and wire versions 0...21.
    static func hello(_ fields: [(String, BSON)] = [], maxWireVersion: Int32 = 21) -> BSONDocument {
        var doc: BSONDocument = ["ok": .int32(1), "minWireVersion": .int32(0), "maxWireVersion": .int32(maxWireVersion)]
        for (k, v) in fields { doc[k] = v }
        return doc
    }

    static func hosts(_ names: [String]) -> BSON { .array(names.map { .string($0) }) }

    static func primary(_ set: String = "rs", hosts names: [String], electionId: UInt8? = nil, setVersion: Int32? = nil,
                        maxWireVersion: Int32 = 21) -> BSONDocument {
        var fields: [(String, BSON)] = [("isWritablePrimary", .bool(true)), ("setName", .string(set)), ("hosts", hosts(names))]
        if let electionId { fields.append(("electionId", .objectID(oid(electionId)))) }
        if let setVersion { fields.append(("setVersion", .int32(setVersion))) }
        return hello(fields, maxWireVersion: maxWireVersion)
    }

    static func secondary(_ set: String = "rs", hosts names: [String], primary: String? = nil) -> BSONDocument {
        var fields: [(String, BSON)] = [("secondary", .bool(true)), ("setName", .string(set)), ("hosts", hosts(names))]
        if let primary { fields.append(("primary", .string(primary))) }
        return hello(fields)
    }

    static func description(_ address: String, _ reply: BSONDocument, now: Int64 = 1) -> ServerDescription {
        ServerDescription(address: self.address(address), hello: reply, roundTripTimeMS: 5, now: now)
    }

    static func machine(_ seeds: [String], replicaSet: String? = nil, directConnection: Bool? = nil,
                        loadBalanced: Bool = false) -> TopologyStateMachine {
        var m = TopologyStateMachine(settings: TopologySettings(
            seeds: seeds.map(address), replicaSet: replicaSet, directConnection: directConnection, loadBalanced: loadBalanced))
        _ = m.open()
        return m
    }
}
