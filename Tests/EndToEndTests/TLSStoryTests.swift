import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// TLS against the simulated deployment, with certificates made when the tests run: a pool
/// over TLS discovers, monitors and runs commands; every kind of bad certificate is refused and
/// named; a plaintext server gets no command at all.
@Suite(.serialized) struct TLSStoryTests {
    typealias D = Deployment

    static func tlsSimulator(
        _ kind: SimulatorConfiguration.Kind = .replicaSet(name: "rs0", members: 3), certificate: String? = nil
    ) throws -> (MongoSimulator, GeneratedCertificates) {
        let certificates = try TestCertificates.shared()
        let tls = TLSConfiguration(certificateKeyFile: certificate ?? certificates.serverFile)
        return (try MongoSimulator(SimulatorConfiguration(kind: kind, threadName: "tls-sim", tls: tls)), certificates)
    }

    /// The last error the topology holds for `address` once its check failed.
    static func checkError(_ pool: ClientPool, _ address: String) -> String? {
        let server = D.address(address)
        return D.waitFor(pool.topology, seconds: 10) { $0.servers[server]?.error != nil }?.servers[server]?.error
    }

    @Test func aPoolOverTLSDiscoversTheSetAndRunsInsertAndFind() throws {
        let (sim, certificates) = try Self.tlsSimulator()
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[1])/?replicaSet=rs0&tls=true&tlsCAFile=\(certificates.caFile)&appname=tls-story")
        defer { pool.close() }
        try pool.withClient { client in
            _ = try client.runWriteCommand(["insert": "things", "documents": [["x": 1], ["x": 2]]], database: "test")
            let reply = try client.runCommand(["find": "things", "filter": ["x": 2]], database: "test")
            let batch = reply["cursor"]?.documentValue?["firstBatch"]?.arrayValue ?? []
            #expect(batch.count == 1)
        }
        let settled = D.waitFor(pool.topology, seconds: 10) { D.settled($0) && $0.servers.count == 3 }
        #expect(settled != nil, "every member was discovered and checked over TLS")
    }

    @Test func tlsAgainstAPlaintextServerFailsNamingTheServerAndSendsNothing() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "plain-sim"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: "mongodb://\(address)/?tls=true&serverSelectionTimeoutMS=1500&connectTimeoutMS=1000&appname=tls-plain")
        defer { pool.close() }
        let error = Self.checkError(pool, address)
        #expect(error?.contains("TLS handshake") == true, "\(String(describing: error))")
        #expect(error?.contains(address) == true, "the error names the server: \(String(describing: error))")
        do {
            try pool.withClient { client in _ = try client.runCommand(["ping": 1], database: "admin") }
            Issue.record("a command ran against a plaintext server with tls=true")
        } catch {
            #expect("\(error)".contains("TLS"), "\(error)")
            #expect("\(error)".contains(address), "\(error)")
        }
        #expect(sim.statistics(for: address)?.hellosReceived == 0, "not one command reached the plaintext server")
    }

    @Test func anUntrustedCAIsACertificateErrorThatMarksTheServerUnknown() throws {
        let (sim, certificates) = try Self.tlsSimulator(.standalone)
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: "mongodb://\(address)/?tls=true&tlsCAFile=\(certificates.otherCAFile)&serverSelectionTimeoutMS=1000&appname=tls-ca")
        defer { pool.close() }
        let error = Self.checkError(pool, address)
        #expect(error?.contains("certificate was rejected") == true, "\(String(describing: error))")
        #expect(pool.topology.description.servers[D.address(address)]?.type == .unknown)
        #expect(sim.statistics(for: address)?.hellosReceived == 0)
    }

    @Test func selfSignedExpiredAndWrongHostCertificatesAreNamed() throws {
        let certificates = try TestCertificates.shared()
        let cases: [(String, String)] = [
            (certificates.selfSignedServerFile, "self-signed"),
            (certificates.expiredServerFile, "expired"),
            (certificates.wrongHostServerFile, "does not match its host name"),
        ]
        for (file, words) in cases {
            let (sim, _) = try Self.tlsSimulator(.standalone, certificate: file)
            defer { sim.stop() }
            let address = sim.addresses[0]
            let pool = try ClientPool(uri: "mongodb://\(address)/?tls=true&tlsCAFile=\(certificates.caFile)&appname=tls-bad")
            defer { pool.close() }
            let error = Self.checkError(pool, address)
            #expect(error?.contains(words) == true, "\(file): \(String(describing: error))")
        }
    }

    @Test func allowInvalidCertificatesAndHostnamesLoosenOnlyWhatTheySay() throws {
        let certificates = try TestCertificates.shared()
        let (selfSigned, _) = try Self.tlsSimulator(.standalone, certificate: certificates.selfSignedServerFile)
        defer { selfSigned.stop() }
        let lenient = try ClientPool(uri: "mongodb://\(selfSigned.addresses[0])/?tls=true&tlsAllowInvalidCertificates=true&appname=tls-lenient")
        defer { lenient.close() }
        try lenient.withClient { client in _ = try client.runCommand(["ping": 1], database: "admin") }

        let (wrongHost, _) = try Self.tlsSimulator(.standalone, certificate: certificates.wrongHostServerFile)
        defer { wrongHost.stop() }
        let hostnames = try ClientPool(uri: "mongodb://\(wrongHost.addresses[0])/?tls=true&tlsCAFile=\(certificates.caFile)&tlsAllowInvalidHostnames=true&appname=tls-hosts")
        defer { hostnames.close() }
        try hostnames.withClient { client in _ = try client.runCommand(["ping": 1], database: "admin") }
    }

    @Test func localhostMatchesByNameAndSendsSNI() throws {
        let (sim, certificates) = try Self.tlsSimulator(.standalone)
        defer { sim.stop() }
        let port = sim.addresses[0].split(separator: ":").last!
        let pool = try ClientPool(uri: "mongodb://localhost:\(port)/?tls=true&tlsCAFile=\(certificates.caFile)&appname=tls-name")
        defer { pool.close() }
        try pool.withClient { client in _ = try client.runCommand(["ping": 1], database: "admin") }
    }
}
