import Testing
@testable import MongoTLS
import COpenSSL
import MongoSimulator
import SDAMCore
import PoolMonitor
import TestSupport

/// OCSP stapling in memory: the server staples a response `openssl ocsp` made from a CA index,
/// and the client checks it once the handshake is complete (the OCSP support spec's
/// "Suggested OCSP Behavior", stapled responses only).
@Suite struct OCSPStaplingTests {
    let certificates: GeneratedCertificates

    init() throws {
        certificates = try TestCertificates.shared()
    }

    private func server(_ file: String? = nil, staple: String?, tls12: Bool = false) throws -> TLSContext {
        let context = try TLSContext(role: .server, configuration: TLSConfiguration(
            certificateKeyFile: file ?? certificates.serverFile, ocspResponseFile: staple))
        if tls12 { #expect(copenssl_ctx_set_max_tls12(context.context) == 1) }
        return context
    }

    private func client(checkRevocation: Bool = true, allowInvalidCertificates: Bool = false) throws -> TLSContext {
        try TLSContext(role: .client, configuration: TLSConfiguration(
            caFile: certificates.caFile, allowInvalidCertificates: allowInvalidCertificates, checkRevocation: checkRevocation))
    }

    /// The client's error for a handshake with `server`, or nil when both sides completed.
    private func handshake(_ server: TLSContext, client: TLSContext? = nil) throws -> TLSError? {
        try InMemoryHandshake.pair(serverName: "localhost", client: client ?? self.client(), server: server).2
    }

    @Test func aGoodStaplePasses() throws {
        let (c, s, error) = try InMemoryHandshake.pair(
            serverName: "localhost", client: client(), server: server(staple: certificates.goodOCSPResponseFile))
        #expect(error == nil)
        #expect(c.isHandshakeComplete && s.isHandshakeComplete)
    }

    @Test func aRevokedStapleRejectsTheCertificateNamingRevocation() throws {
        let error = try handshake(server(staple: certificates.revokedOCSPResponseFile))
        #expect(error == TLSError(kind: .certificateRejected, reason: "the stapled OCSP response says the certificate was revoked"))
        #expect(error?.isCertificateFailure == true)
    }

    @Test func theStapleIsCheckedOverTLS12Too() throws {
        let (c, _, error) = try InMemoryHandshake.pair(
            serverName: "localhost", client: client(), server: server(staple: certificates.goodOCSPResponseFile, tls12: true))
        #expect(error == nil)
        #expect(c.protocolVersion == "TLSv1.2")
        let revoked = try handshake(server(staple: certificates.revokedOCSPResponseFile, tls12: true))
        #expect(revoked?.reason.contains("revoked") == true, "\(String(describing: revoked))")
        let mustStaple = try handshake(server(certificates.mustStapleServerFile, staple: nil, tls12: true))
        #expect(mustStaple?.reason.contains("Must-Staple") == true, "\(String(describing: mustStaple))")
    }

    @Test func aMustStapleCertificateWithoutAStapleIsRejected() throws {
        let error = try handshake(server(certificates.mustStapleServerFile, staple: nil))
        #expect(error == TLSError(kind: .certificateRejected,
                                  reason: "the certificate requires a stapled OCSP response (Must-Staple) and none was sent"))
    }

    @Test func aMustStapleCertificateWithAGoodStaplePasses() throws {
        #expect(try handshake(server(certificates.mustStapleServerFile, staple: certificates.mustStapleGoodOCSPResponseFile)) == nil)
    }

    @Test func aPlainCertificateWithoutAStaplePassesAsASoftFail() throws {
        #expect(try handshake(server(staple: nil)) == nil)
    }

    @Test func revocationCheckingOffOrUnverifiedCertificatesSkipTheCheck() throws {
        let revoked = try server(staple: certificates.revokedOCSPResponseFile)
        #expect(try handshake(revoked, client: client(checkRevocation: false)) == nil)
        #expect(try handshake(revoked, client: client(allowInvalidCertificates: true)) == nil)
        let mustStaple = try server(certificates.mustStapleServerFile, staple: nil)
        #expect(try handshake(mustStaple, client: client(checkRevocation: false)) == nil)
    }

    @Test func aStapleSignedByAnUntrustedResponderIsRejected() throws {
        let error = try handshake(server(staple: certificates.untrustedResponderOCSPResponseFile))
        #expect(error?.kind == .certificateRejected)
        #expect(error?.reason.contains("not signed by a trusted responder") == true, "\(String(describing: error))")
    }

    @Test func aStapleForAnotherCertificateIsRejected() throws {
        let error = try handshake(server(staple: certificates.mustStapleGoodOCSPResponseFile))
        #expect(error == TLSError(kind: .certificateRejected, reason: "the stapled OCSP response does not cover the server's certificate"))
    }

    @Test func aResponseFileThatIsNoOCSPResponseIsAConfigurationError() throws {
        for file in [certificates.caFile, "/nonexistent/staple.der"] {
            do {
                _ = try TLSContext(role: .server, configuration: TLSConfiguration(
                    certificateKeyFile: certificates.serverFile, ocspResponseFile: file))
                Issue.record("\(file) was accepted as an OCSP response")
            } catch {
                #expect(error.kind == .configuration)
                #expect(error.reason.contains(file), "\(error)")
            }
        }
    }

    @Test func tlsDisableCertificateRevocationCheckTurnsTheCheckOff() {
        #expect(TLSConfiguration(client: TLSSettings()).checkRevocation)
        #expect(!TLSConfiguration(client: TLSSettings(disableCertificateRevocationCheck: true)).checkRevocation)
        #expect(TLSConfiguration(client: TLSSettings(disableOCSPEndpointCheck: true)).checkRevocation,
                "no responder is contacted anyway: the stapled check stays on")
    }
}
