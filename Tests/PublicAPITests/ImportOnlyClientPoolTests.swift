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

    struct Person: Codable, Equatable { var name: String; var age: Int }

    @Test("the README's first example: a Codable model inserted and found with literals")
    func readmeExample() throws {
        let deployment = try SimulatedDeployment.replicaSet()
        defer { deployment.stop() }
        let pool = try ClientPool(uri: deployment.uri)
        defer { pool.close() }
        try pool.withClient { client in
            let person = try BSONEncoder().encode(Person(name: "Ada", age: 36))
            _ = try client.runWriteCommand(["insert": "people", "documents": [.document(person)]], database: "app")
            let reply = try client.runCommand(["find": "people", "filter": ["age": ["$gt": 30]]], database: "app",
                                              readPreference: .primaryPreferred)
            #expect(reply["ok"]?.doubleValue == 1)
            #expect("\(reply)".contains("\"ok\""), "prints as relaxed Extended JSON: \(reply)")
        }
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
