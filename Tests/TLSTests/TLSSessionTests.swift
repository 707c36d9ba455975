import Testing
import MongoTLS
import MongoSimulator
import TestSupport

/// TLS sessions against each other in memory (no sockets): verification, host names, bad
/// certificates, a plaintext peer, and bulk data across records.
@Suite struct TLSSessionTests {
    let certificates: GeneratedCertificates

    init() throws {
        certificates = try TestCertificates.shared()
    }

    private func server(_ file: String? = nil, requestClientCertificate: Bool = false) throws -> TLSContext {
        try TLSContext(role: .server, configuration: TLSConfiguration(
            caFile: requestClientCertificate ? certificates.caFile : nil,
            certificateKeyFile: file ?? certificates.serverFile,
            requestClientCertificate: requestClientCertificate))
    }

    private func client(_ configuration: TLSConfiguration? = nil) throws -> TLSContext {
        try TLSContext(role: .client, configuration: configuration ?? TLSConfiguration(caFile: certificates.caFile))
    }

    private func pair(serverName: String = "localhost", client clientContext: TLSContext? = nil, server serverContext: TLSContext? = nil) throws -> (TLSSession, TLSSession, TLSError?) {
        try InMemoryHandshake.pair(serverName: serverName, client: clientContext ?? client(), server: serverContext ?? server())
    }

    @Test func trustedServerCompletesTheHandshakeWithTLS12OrLater() throws {
        let (c, s, error) = try pair()
        #expect(error == nil)
        #expect(c.isHandshakeComplete && s.isHandshakeComplete)
        #expect(["TLSv1.2", "TLSv1.3"].contains(c.protocolVersion))
    }

    @Test func ipLiteralsMatchTheCertificatesAddresses() throws {
        #expect(try pair(serverName: "127.0.0.1").2 == nil)
        #expect(try pair(serverName: "::1").2 == nil)
        #expect(TLSSession.isIPLiteral("::1") && TLSSession.isIPLiteral("10.0.0.1") && !TLSSession.isIPLiteral("localhost"))
    }

    @Test func anotherHostNameIsRefusedUnlessAllowed() throws {
        let error = try pair(serverName: "db.example.com").2
        #expect(error?.kind == .hostnameMismatch)
        #expect(error?.description.contains("db.example.com") == true)
        let lenient = try client(TLSConfiguration(caFile: certificates.caFile, allowInvalidHostnames: true))
        #expect(try pair(serverName: "db.example.com", client: lenient).2 == nil)
    }

    @Test func untrustedExpiredAndWrongHostCertificatesAreRejected() throws {
        let selfSigned = try pair(server: server(certificates.selfSignedServerFile)).2
        #expect(selfSigned?.kind == .certificateRejected)
        #expect(selfSigned?.reason.contains("self-signed") == true)
        let expired = try pair(server: server(certificates.expiredServerFile)).2
        #expect(expired?.kind == .certificateRejected)
        #expect(expired?.reason.contains("expired") == true)
        let wrongHost = try pair(server: server(certificates.wrongHostServerFile)).2
        #expect(wrongHost?.kind == .hostnameMismatch)
        let otherCA = try pair(client: client(TLSConfiguration(caFile: certificates.otherCAFile))).2
        #expect(otherCA?.kind == .certificateRejected)
        #expect(otherCA?.isCertificateFailure == true)
    }

    @Test func allowInvalidCertificatesAcceptsASelfSignedServer() throws {
        let lenient = try client(TLSConfiguration(allowInvalidCertificates: true))
        #expect(try pair(client: lenient, server: server(certificates.selfSignedServerFile)).2 == nil)
    }

    @Test func aPlaintextPeerIsNamedAsOne() throws {
        let c = try client().makeSession(serverName: "localhost")
        _ = try c.handshake()
        // What a MongoDB server speaking plaintext could send: a wire message header.
        let reply: [UInt8] = [0x2a, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xdd, 0x07, 0, 0] + Array(repeating: 0, count: 26)
        reply.withUnsafeBytes { c.feed($0) }
        do {
            _ = try c.handshake()
            Issue.record("a plaintext reply passed for a TLS handshake")
        } catch {
            #expect(error.kind == .notTLS, "\(error)")
        }
    }

    @Test func dataLargerThanARecordArrivesWhole() throws {
        let (c, s, error) = try pair()
        #expect(error == nil)
        let message = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try message.withUnsafeBytes { try c.write($0) }
        var wire: [UInt8] = []
        c.drainOutput(into: &wire)
        #expect(wire.count > message.count)
        wire.withUnsafeBytes { s.feed($0) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let result = try buffer.withUnsafeMutableBytes { try s.read(into: $0) }
            guard case .bytes(let n) = result else { break }
            received += buffer[0..<n]
        }
        #expect(received == message)
        #expect(!s.hasBufferedInput)
    }

    @Test func theServerSeesTheClientCertificatesSubject() throws {
        let withCertificate = try client(TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.clientFile))
        let (_, s, error) = try pair(client: withCertificate, server: server(requestClientCertificate: true))
        #expect(error == nil)
        #expect(s.peerCertificateSubject == certificates.clientSubject)
    }

    @Test func anEncryptedKeyNeedsItsPassword() throws {
        let good = TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.encryptedClientFile,
                                    certificateKeyFilePassword: certificates.clientKeyPassword)
        _ = try TLSContext(role: .client, configuration: good)
        var bad = good
        bad.certificateKeyFilePassword = "not-the-password"
        do {
            _ = try TLSContext(role: .client, configuration: bad)
            Issue.record("a wrong key password was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.description.contains("tlsCertificateKeyFilePassword"))
            #expect(!error.description.contains("not-the-password"))
        }
    }

    @Test func anUnreadableCAFileIsAConfigurationError() throws {
        do {
            _ = try TLSContext(role: .client, configuration: TLSConfiguration(caFile: "/nonexistent/ca.pem"))
            Issue.record("a missing CA file was accepted")
        } catch {
            #expect(error.kind == .configuration)
            #expect(error.description.contains("/nonexistent/ca.pem"))
        }
    }
}
