import Foundation
@testable import MongoClientPool
import MongoAuth
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
import Synchronization
import TestSupport

/// Authentication against the simulated deployment over TLS: SCRAM-SHA-256 and SCRAM-SHA-1
/// (negotiated or named), X.509 with a client certificate, a wrong password, and the two
/// savings the auth spec asks for (speculative authentication, the key cache). Monitoring
/// connections never authenticate.
@Suite(.serialized) struct AuthenticationStoryTests {
    typealias D = Deployment
    static let password = "pencil-Ⅸ-secret"

    static func simulator(
        _ kind: SimulatorConfiguration.Kind = .standalone, users: [SimulatedUser], requestClientCertificate: Bool = false
    ) throws -> (MongoSimulator, GeneratedCertificates) {
        let certificates = try TestCertificates.shared()
        let tls = TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.serverFile,
                                   requestClientCertificate: requestClientCertificate)
        return (try MongoSimulator(SimulatorConfiguration(kind: kind, threadName: "auth-sim", tls: tls, users: users)), certificates)
    }

    static func uri(_ sim: MongoSimulator, _ certificates: GeneratedCertificates, user: String = "alice",
                    password: String = AuthenticationStoryTests.password, options: String = "") -> String {
        let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
        return "mongodb://\(user):\(encoded)@\(sim.addresses[0])/?directConnection=true&tls=true&tlsCAFile=\(certificates.caFile)"
            + "&serverMonitoringMode=poll&heartbeatFrequencyMS=500&appname=auth-story" + options
    }

    /// A TLS standalone that asks for client certificates and knows the test client's subject,
    /// and a URI that authenticates to it with MONGODB-X509.
    static func x509Simulator(appname: String) throws -> (MongoSimulator, String) {
        let certificates = try TestCertificates.shared()
        let (sim, _) = try simulator(users: [.x509(subject: certificates.clientSubject)], requestClientCertificate: true)
        let uri = "mongodb://\(sim.addresses[0])/?directConnection=true&tls=true&tlsCAFile=\(certificates.caFile)"
            + "&tlsCertificateKeyFile=\(certificates.clientFile)&authMechanism=MONGODB-X509&appname=\(appname)"
        return (sim, uri)
    }

    static let insert: BSONDocument = ["insert": "things", "documents": [["x": 1]]]

    @Test func scramSHA256OverTLSRunsInsertAndFindWithTheHelloAndOneSaslContinue() throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: Self.uri(sim, certificates))
        defer { pool.close() }
        try pool.withClient { client in
            _ = try client.runWriteCommand(Self.insert, database: "test")
            let reply = try client.runCommand(["find": "things"], database: "test")
            #expect(reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue?.count == 1)
        }
        let statistics = try #require(sim.statistics(for: address))
        #expect(statistics.authenticatedConnections == 1, "the one application connection authenticated")
        // Negotiated SCRAM-SHA-256, speculative in the hello, skipEmptyExchange: one saslContinue.
        #expect(statistics.authenticationCommandsReceived == 1, "\(statistics)")
        // The other connection is the monitor's: it keeps checking and never authenticates.
        let hellosBefore = statistics.hellosReceived
        Thread.sleep(forTimeInterval: 1.2)
        let later = try #require(sim.statistics(for: address))
        #expect(later.hellosReceived >= hellosBefore + 2, "monitoring kept its rhythm")
        #expect(later.openConnections == 2 && later.authenticatedConnections == 1, "\(later)")
    }

    @Test func scramSHA1NamedOrNegotiatedAuthenticates() throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("bob", password: Self.password, mechanisms: [.sha1])])
        defer { sim.stop() }
        let address = sim.addresses[0]
        let named = try ClientPool(uri: Self.uri(sim, certificates, user: "bob", options: "&authMechanism=SCRAM-SHA-1"))
        try named.withClient { client in _ = try client.runWriteCommand(Self.insert, database: "test") }
        named.close()
        #expect(sim.statistics(for: address)?.authenticationCommandsReceived == 1, "SCRAM-SHA-1 speculative: one saslContinue")
        // Negotiated: the server lists only SCRAM-SHA-1 for bob, so the speculative
        // SCRAM-SHA-256 step is ignored and the conversation starts over with saslStart.
        let negotiated = try ClientPool(uri: Self.uri(sim, certificates, user: "bob"))
        defer { negotiated.close() }
        try negotiated.withClient { client in _ = try client.runWriteCommand(Self.insert, database: "test") }
        #expect(sim.statistics(for: address)?.authenticationCommandsReceived == 3, "then saslStart and one saslContinue")
    }

    @Test func aWrongPasswordNamesUserMechanismAndServerAndMonitoringGoesOn() throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let address = sim.addresses[0]
        let wrong = "not-the-Password-42"
        let pool = try ClientPool(uri: Self.uri(sim, certificates, password: wrong))
        defer { pool.close() }
        var caught: ClientPoolError?
        do {
            try pool.withClient { client in _ = try client.runWriteCommand(Self.insert, database: "test") }
        } catch {
            caught = error as? ClientPoolError
        }
        guard case .authenticationFailed(let failure)? = caught else {
            Issue.record("expected AuthenticationFailed, got \(String(describing: caught))")
            return
        }
        #expect(failure.username == "alice" && failure.mechanism == "SCRAM-SHA-256" && failure.database == "admin")
        #expect(failure.server.description == address && failure.code == 18, "\(failure)")
        let text = "\(caught!)"
        #expect(text.contains("alice") && text.contains("SCRAM-SHA-256") && text.contains(address), "\(text)")
        #expect(!text.contains(wrong) && !text.contains(Self.password), "no password in \(text)")
        #expect(pool.topology.poolGeneration(for: D.address(address)) == 1, "the server's pool was cleared")
        // The monitor does not authenticate: its checks go on, and nothing retries the login.
        let before = try #require(sim.statistics(for: address))
        Thread.sleep(forTimeInterval: 1.2)
        let after = try #require(sim.statistics(for: address))
        #expect(after.hellosReceived >= before.hellosReceived + 2, "monitoring kept its rhythm")
        #expect(after.authenticationCommandsReceived == before.authenticationCommandsReceived, "no storm of retries")
        #expect(pool.topology.description.servers[D.address(address)]?.type == .standalone, "the monitor found it again")
    }

    @Test func nConnectionsDeriveTheSCRAMKeysOnce() throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let derivations = Atomic<Int>(0)
        let cache = ScramKeyCache { mechanism, password, salt, iterations in
            derivations.add(1, ordering: .relaxed)
            return ScramKeys.derive(mechanism: mechanism, preparedPassword: password, salt: salt, iterations: iterations)
        }
        // minPoolSize makes the pool open five connections by itself, in the background.
        let pool = try ClientPool(uri: Self.uri(sim, certificates, options: "&minPoolSize=5"), logger: .init(label: "auth"),
                                  events: EventPublisher(), keyCache: cache) { _ in }
        defer { pool.close() }
        let address = sim.addresses[0]
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while (sim.statistics(for: address)?.authenticatedConnections ?? 0) < 5, MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        let connections = try #require(sim.statistics(for: address)).authenticatedConnections
        #expect(connections == 5, "five connections authenticated (\(connections))")
        #expect(derivations.load(ordering: .relaxed) == 1, "one PBKDF2 for \(connections) connections")
    }

    @Test func x509AuthenticatesWithTheClientCertificateInTheHandshake() throws {
        let (sim, uri) = try Self.x509Simulator(appname: "auth-x509")
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: uri)
        defer { pool.close() }
        try pool.withClient { client in _ = try client.runWriteCommand(Self.insert, database: "test") }
        let statistics = try #require(sim.statistics(for: address))
        #expect(statistics.authenticatedConnections == 1)
        #expect(statistics.authenticationCommandsReceived == 0, "speculative X.509: no authenticate command after the hello")
    }

    @Test func withoutCredentialsADeploymentThatRequiresThemAnswersUnauthorized() throws {
        let (sim, certificates) = try Self.simulator(users: [.scram("alice", password: Self.password)])
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?directConnection=true&tls=true&tlsCAFile=\(certificates.caFile)")
        defer { pool.close() }
        do {
            try pool.withClient { client in _ = try client.runWriteCommand(Self.insert, database: "test") }
            Issue.record("an unauthenticated insert succeeded")
        } catch {
            guard case .commandFailed(let failure)? = error as? ClientPoolError else {
                Issue.record("expected Unauthorized, got \(error)")
                return
            }
            #expect(failure.reply["code"]?.int64Value == 13)
        }
    }
}
