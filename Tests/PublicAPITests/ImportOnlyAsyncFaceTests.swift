import MongoClientPool
import Testing

/// The async face with `import MongoClientPool` alone: the README's async example, as an
/// application in a Task writes it.
@Suite struct ImportOnlyAsyncFaceTests {
    @Test("the README's async example: withClient and an awaited write, then an awaited close")
    func readmeAsyncExample() async throws {
        let deployment = try SimulatedDeployment.replicaSet()
        defer { deployment.stop() }
        let pool = try ClientPool(uri: deployment.uri)
        let reply = try await pool.withClient { client in
            try await client.runWriteCommand(["insert": "people", "documents": [["name": "Ada"]]], database: "app")
        }
        #expect(reply["n"]?.int64Value == 1)
        let found = try await pool.withClient { client in
            try await client.runCommand(["find": "people", "filter": ["name": "Ada"]], database: "app", readPreference: .secondaryPreferred)
        }
        #expect(found["ok"]?.doubleValue == 1)
        await pool.close()
        #expect(pool.isClosed)
    }
}
