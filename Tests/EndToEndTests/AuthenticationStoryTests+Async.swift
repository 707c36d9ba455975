import Foundation
@testable import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The same stories through the async face: its connections are established from the
/// operations loop (non-blocking TCP, TLS handshake, hello with speculative authentication,
/// SASL), by the same handshake and authentication steps as the blocking ones.
extension AuthenticationStoryTests {
    @Test func asyncFaceAuthenticatesWithSCRAMSHA256OverTLS() async throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let pool = try ClientPool(uri: Self.uri(sim, certificates, options: "&maxPoolSize=8"))
        let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<40 {
                group.addTask { try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }["ok"]?.isTruthy == true }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        let found = try await pool.withClient { try await $0.runCommand(["find": "things"], database: "test") }
        await pool.close()
        #expect(outcomes.count == 40 && outcomes.allSatisfy { $0 })
        #expect(found["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.count == 40)
        let statistics = try #require(sim.statistics(for: sim.addresses[0]))
        #expect(statistics.authenticatedConnections >= 1 && statistics.authenticatedConnections <= 8, "\(statistics)")
        // Speculative SCRAM-SHA-256 in each hello, then one saslContinue per connection.
        #expect(statistics.authenticationCommandsReceived == statistics.authenticatedConnections, "\(statistics)")
    }

    @Test func asyncFaceReportsAWrongPasswordAsTheBlockingOneDoes() async throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let wrong = "not-the-Password-42"
        let pool = try ClientPool(uri: Self.uri(sim, certificates, password: wrong))
        var caught: (any Error)?
        do {
            _ = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
        } catch {
            caught = error
        }
        let generation = pool.topology.poolGeneration(for: D.address(sim.addresses[0]))
        await pool.close()
        guard case .authenticationFailed(let failure)? = caught as? ClientPoolError else {
            Issue.record("expected AuthenticationFailed, got \(String(describing: caught))")
            return
        }
        #expect(failure.username == "alice" && failure.mechanism == "SCRAM-SHA-256" && failure.code == 18, "\(failure)")
        #expect(!"\(caught!)".contains(wrong), "no password in the error")
        #expect(generation == 1, "the server's pool was cleared, as for the blocking face")
    }

    @Test func asyncFaceAuthenticatesWithX509() async throws {
        let (sim, uri) = try Self.x509Simulator(appname: "auth-x509-async")
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: uri)
        let reply = try await pool.withClient { try await $0.runWriteCommand(Self.insert, database: "test") }
        await pool.close()
        #expect(reply["ok"]?.isTruthy == true)
        let statistics = try #require(sim.statistics(for: address))
        #expect(statistics.authenticatedConnections == 1)
        #expect(statistics.authenticationCommandsReceived == 0, "speculative X.509: no authenticate command after the hello")
    }
}
