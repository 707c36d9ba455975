import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

@Suite struct DataStoreTests {
    @Test func generatedIdsAreUniqueAndFirst() throws {
        var store = DataStore(seed: 7, now: 1_000)
        #expect(store.insert([["a": .int32(1)], ["a": .int32(2)]], into: "db.c", now: 2_000) == 2)
        let documents = store.find(in: "db.c", filter: [:], limit: 0)
        let ids = documents.compactMap { $0["_id"]?.objectIDValue }
        #expect(ids.count == 2)
        #expect(Set(ids).count == 2)
        #expect(documents.allSatisfy { $0.keys.first == "_id" })
        #expect(store.lastWriteMS == 2_000)
        #expect(store.writeCount == 1)
    }

    @Test func givenIdsAreKept() {
        var store = DataStore(seed: 7, now: 0)
        _ = store.insert([["_id": .int32(5), "a": .int32(1)]], into: "db.c", now: 0)
        #expect(store.find(in: "db.c", filter: ["_id": .int32(5)], limit: 0) == [["_id": .int32(5), "a": .int32(1)]])
    }

    @Test func filterMatchesEveryFieldAndLimitCuts() {
        var store = DataStore(seed: 7, now: 0)
        _ = store.insert((0..<5).map { ["_id": .int32($0), "even": .bool($0 % 2 == 0), "k": .string("x")] }, into: "db.c", now: 0)
        #expect(store.find(in: "db.c", filter: ["even": .bool(true), "k": .string("x")], limit: 0).count == 3)
        #expect(store.find(in: "db.c", filter: ["even": .bool(true)], limit: 2).count == 2)
        #expect(store.find(in: "db.other", filter: [:], limit: 0).isEmpty)
        // An older clock does not move the last write back.
        _ = store.insert([["a": .int32(1)]], into: "db.c", now: -5)
        #expect(store.lastWriteMS == 0)
    }
}
