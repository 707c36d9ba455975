import Foundation
import MongoSimulator
import MongoBSON
import MongoTLS
import Testing
import TestSupport

/// PyMongo, a client we did not write, against the simulator's TLS (and authentication) server
/// side: if PyMongo completes its handshake, verifies the certificate against the generated CA
/// and runs commands, the simulator speaks TLS as a server should.
@Suite(.serialized) struct SecuredInteropTests {
    static func runPyMongo(_ uri: String) throws -> InteropResult {
        let peer = try InteropPeer(script: "pymongo_secured.py", arguments: [uri], timeLimit: 40)
        defer { peer.stop() }
        let line = try peer.readLine(within: 30)
        let result = try InteropResult(line, from: peer)
        #expect(try peer.waitForExit(within: 10) == .exited(0), "\(peer.diagnostics)")
        return result
    }

    @Test func pymongoVerifiesTheSimulatorsCertificateAndRunsCommandsOverTLS() throws {
        let certificates = try TestCertificates.shared()
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .replicaSet(name: "rs0", members: 3), threadName: "interop-tls",
            tls: TLSConfiguration(certificateKeyFile: certificates.serverFile)))
        defer { sim.stop() }
        let result = try Self.runPyMongo("mongodb://\(sim.addresses[0])/?replicaSet=rs0&tls=true&tlsCAFile=\(certificates.caFile)")
        #expect(result.value["ok"] as? Bool == true, "\(result.value)")
        #expect(result.number("found") == 1)
    }

    @Test(arguments: ["SCRAM-SHA-256", "SCRAM-SHA-1"])
    func pymongoAuthenticatesToTheSimulatorOverTLS(mechanism: String) throws {
        let certificates = try TestCertificates.shared()
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .standalone, threadName: "interop-scram", tls: TLSConfiguration(certificateKeyFile: certificates.serverFile),
            users: [.scram("carol", password: "p@ss w0rd")]))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let base = "mongodb://carol:p%40ss%20w0rd@\(address)/?directConnection=true&tls=true&tlsCAFile=\(certificates.caFile)"
        let result = try Self.runPyMongo(base + "&authMechanism=\(mechanism)")
        #expect(result.value["ok"] as? Bool == true, "\(result.value)")
        #expect((sim.statistics(for: address)?.authenticatedConnections ?? 0) >= 1)
        let wrong = try Self.runPyMongo(base.replacingOccurrences(of: "p%40ss%20w0rd", with: "wrong") + "&authMechanism=\(mechanism)")
        #expect(wrong.value["ok"] as? Bool == false)
        #expect(wrong.string("type") == "OperationFailure", "\(wrong.value)")
        #expect(wrong.string("error")?.contains("Authentication failed") == true, "\(wrong.value)")
    }

    @Test func pymongosSASLprepAndOursAgreeOnAPasswordThatNFKCChanges() throws {
        // Stored as the simulator was given it: ROMAN NUMERAL NINE, and an e with a combining
        // acute then two Hangul jamo, which our NFKC turns into "IX" and "é가". PyMongo is given
        // other forms of the same: I, a soft hyphen (mapped to nothing), X; and the precomposed
        // é and 가. The login succeeds only if both sides prepared the same bytes.
        let certificates = try TestCertificates.shared()
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .standalone, threadName: "interop-saslprep", tls: TLSConfiguration(certificateKeyFile: certificates.serverFile),
            users: [.scram("dana", password: "\u{2168}x", mechanisms: [.sha256]),
                    .scram("erin", password: "e\u{0301}\u{1100}\u{1161}", mechanisms: [.sha256])]))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let options = "/?directConnection=true&tls=true&tlsCAFile=\(certificates.caFile)&authMechanism=SCRAM-SHA-256"
        for (user, password) in [("dana", "I%C2%ADXx"), ("erin", "%C3%A9%EA%B0%80")] {
            let result = try Self.runPyMongo("mongodb://\(user):\(password)@\(address)" + options)
            #expect(result.value["ok"] as? Bool == true, "\(user): \(result.value)")
        }
        // And a form that is not the same password is refused.
        let wrong = try Self.runPyMongo("mongodb://erin:e%C3%A9@\(address)" + options)
        #expect(wrong.value["ok"] as? Bool == false, "\(wrong.value)")
        #expect((sim.statistics(for: address)?.authenticatedConnections ?? 0) >= 2)
    }

    @Test func pymongoRefusesTheSimulatorUnderAnUntrustedCA() throws {
        let certificates = try TestCertificates.shared()
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .standalone, threadName: "interop-tls-ca", tls: TLSConfiguration(certificateKeyFile: certificates.serverFile)))
        defer { sim.stop() }
        let result = try Self.runPyMongo("mongodb://\(sim.addresses[0])/?directConnection=true&tls=true&tlsCAFile=\(certificates.otherCAFile)&serverSelectionTimeoutMS=1500")
        #expect(result.value["ok"] as? Bool == false)
        #expect(result.string("error")?.contains("certificate verify failed") == true, "\(result.value)")
    }
}
