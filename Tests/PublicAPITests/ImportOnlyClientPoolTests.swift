import MongoClientPool
import Testing

/// What an application writes with `import MongoClientPool` and nothing else: create a pool,
/// build documents, run commands through `withClient`. It compiles only if the one import
/// brings the pool, the documents and the read preferences.
@Suite struct ImportOnlyClientPoolTests {
    @Test("one import: a pool is created, discovers the set, and runs a write and a read")
    func oneImportIsEnough() throws {
        let deployment = try SimulatedDeployment.replicaSet()
        defer { deployment.stop() }
        let pool = try ClientPool(uri: deployment.uri)
        defer { pool.close() }
        let inserted = try pool.withClient { client in
            // Literals, as users of other Swift BSON libraries write documents.
            try client.runWriteCommand(["insert": "things", "documents": [["x": 1]]], database: "test")
        }
        #expect(inserted["n"]?.int64Value == 1)
        let found = try pool.withClient { client in
            try client.runCommand(["find": "things"], database: "test", readPreference: .primaryPreferred)
        }
        #expect(found["ok"]?.doubleValue == 1)
    }

    @Test("withClient pushes the client back when its body throws")
    func withClientPushesBackOnThrow() throws {
        struct Boom: Error {}
        let deployment = try SimulatedDeployment.replicaSet()
        defer { deployment.stop() }
        let pool = try ClientPool(uri: deployment.uri + "&maxPoolSize=1&waitQueueTimeoutMS=1000")
        defer { pool.close() }
        #expect(throws: Boom.self) { try pool.withClient { _ in throw Boom() } }
        // With maxPoolSize=1, a client that was not pushed back would make this pop time out.
        let client = try #require(pool.tryPop())
        pool.push(client)
        #expect(pool.clientCount == 1)
    }
}
