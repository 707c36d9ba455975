import Foundation

/// Certificates made at run time by the `openssl` command, for tests and demos: no key is ever
/// committed. One CA signs a server certificate valid for localhost, 127.0.0.1 and ::1 (and
/// the initial-dns-seedlist-discovery tests' localhost.test.build.10gen.cc, and
/// localhost.sub.test.build.10gen.cc of their longer-parent-in-return case), a client
/// certificate for X.509 authentication, and the bad certificates the tests need: expired, for
/// another host, self-signed. Elliptic-curve keys (P-256): quick to make and to handshake.
///
/// For OCSP stapling: a responder certificate the CA delegated to (extendedKeyUsage
/// OCSPSigning), a Must-Staple server certificate, and DER responses made by `openssl ocsp`
/// from CA index files written here (no network): good and revoked for the server
/// certificate, good for the Must-Staple one, and good but signed by a responder of the other
/// CA. They are current for a day.
///
/// The files live in a fresh temporary directory that `remove()` deletes.
public struct GeneratedCertificates: Sendable {
    public let directory: String
    /// The CA's certificate: what clients trust through tlsCAFile.
    public var caFile: String { directory + "/ca.pem" }
    /// The server's certificate and key in one PEM (MongoDB's tlsCertificateKeyFile layout).
    public var serverFile: String { directory + "/server.pem" }
    /// A client certificate and key (subject `clientSubject`), signed by the CA.
    public var clientFile: String { directory + "/client.pem" }
    /// The same client certificate with its key encrypted under `clientKeyPassword`.
    public var encryptedClientFile: String { directory + "/client-encrypted.pem" }
    public let clientKeyPassword = "client-key-secret"
    /// The client certificate's subject in RFC 2253 form: the X.509 user name.
    public let clientSubject = "CN=client,OU=drivers,O=sdam-tests"
    /// Signed by the CA but past its notAfter.
    public var expiredServerFile: String { directory + "/expired.pem" }
    /// Signed by the CA for wrong.example.com only.
    public var wrongHostServerFile: String { directory + "/wronghost.pem" }
    /// Signed by itself, valid for localhost.
    public var selfSignedServerFile: String { directory + "/selfsigned.pem" }
    /// A second CA, which signed none of these: trusting it must reject the server.
    public var otherCAFile: String { directory + "/other-ca.pem" }
    /// The CA's delegated OCSP responder (certificate and key; extendedKeyUsage OCSPSigning).
    public var ocspResponderFile: String { directory + "/ocsp.pem" }
    /// Like `serverFile`, with the TLS Feature extension status_request (Must-Staple, RFC 7633).
    public var mustStapleServerFile: String { directory + "/muststaple.pem" }
    /// DER OCSP response from `ocspResponderFile`: `serverFile`'s certificate is good.
    public var goodOCSPResponseFile: String { directory + "/server-good.ocsp.der" }
    /// DER OCSP response from `ocspResponderFile`: `serverFile`'s certificate is revoked.
    public var revokedOCSPResponseFile: String { directory + "/server-revoked.ocsp.der" }
    /// DER OCSP response from `ocspResponderFile`: `mustStapleServerFile`'s certificate is good.
    public var mustStapleGoodOCSPResponseFile: String { directory + "/muststaple-good.ocsp.der" }
    /// DER OCSP response saying `serverFile`'s certificate is good, signed by a responder
    /// certified by the other CA (OCSPSigning too): not trusted by a client of `caFile`.
    public var untrustedResponderOCSPResponseFile: String { directory + "/server-untrusted.ocsp.der" }

    public struct GenerationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes every file in a new temporary directory.
    /// - Throws: `GenerationError` with openssl's output when a command fails.
    public static func generate() throws -> GeneratedCertificates {
        let template = NSTemporaryDirectory() + "sdam-certs-XXXXXX"
        var path = Array(template.utf8CString)
        guard mkdtemp(&path) != nil else { throw GenerationError(description: "mkdtemp failed for \(template)") }
        let directory = String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let certificates = GeneratedCertificates(directory: directory)
        do {
            try certificates.makeAll()
        } catch {
            certificates.remove()
            throw error
        }
        return certificates
    }

    /// Deletes the directory and every key in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private static let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    private static let serverNames =
        "subjectAltName=DNS:localhost,DNS:localhost.test.build.10gen.cc,DNS:localhost.sub.test.build.10gen.cc,IP:127.0.0.1,IP:::1"

    private func makeAll() throws {
        try makeCA(name: "ca", subject: "/CN=sdam test CA")
        try makeCA(name: "other-ca", subject: "/CN=sdam unrelated CA")
        try makeSigned(name: "server", subject: "/CN=localhost", extensions: Self.serverNames + "\nextendedKeyUsage=serverAuth", days: "2")
        try makeSigned(name: "client", subject: "/O=sdam-tests/OU=drivers/CN=client", extensions: "extendedKeyUsage=clientAuth", days: "2")
        try makeSigned(name: "expired", subject: "/CN=localhost", extensions: Self.serverNames, days: "-1")
        try makeSigned(name: "wronghost", subject: "/CN=wrong.example.com", extensions: "subjectAltName=DNS:wrong.example.com", days: "2")
        try run(["req", "-x509"] + Self.curve + ["-keyout", "selfsigned.key", "-out", "selfsigned.crt", "-days", "2",
                 "-subj", "/CN=localhost", "-addext", Self.serverNames])
        try concatenate(["selfsigned.crt", "selfsigned.key"], into: "selfsigned.pem")
        try run(["pkey", "-in", "client.key", "-aes256", "-passout", "pass:" + clientKeyPassword, "-out", "client-encrypted.key"])
        try concatenate(["client.crt", "client-encrypted.key"], into: "client-encrypted.pem")
        try makeOCSPResponses()
    }

    private func makeOCSPResponses() throws {
        let responder = "extendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature"
        try makeSigned(name: "ocsp", subject: "/CN=sdam test OCSP responder", extensions: responder, days: "2")
        try makeSigned(name: "rogue-ocsp", subject: "/CN=sdam unrelated OCSP responder", extensions: responder, days: "2", ca: "other-ca")
        try makeSigned(name: "muststaple", subject: "/CN=localhost",
                       extensions: Self.serverNames + "\nextendedKeyUsage=serverAuth\ntlsfeature=status_request", days: "2")
        let server = try indexEntry(name: "server", subject: "/CN=localhost")
        let mustStaple = try indexEntry(name: "muststaple", subject: "/CN=localhost")
        // openssl ca's index.txt: status, expiry, revocation date (and reason), serial in hex,
        // file name ("unknown"), subject. Only the status, the revocation date and the serial
        // matter to `openssl ocsp`; the expiry is a placeholder.
        try "V\t491231235959Z\t\t\(server.serial)\tunknown\t\(server.subject)\nV\t491231235959Z\t\t\(mustStaple.serial)\tunknown\t\(mustStaple.subject)\n"
            .write(toFile: directory + "/index-good.txt", atomically: true, encoding: .utf8)
        // Two certificates for /CN=localhost in one index: openssl ca's attribute file says so.
        try "unique_subject = no\n".write(toFile: directory + "/index-good.txt.attr", atomically: true, encoding: .utf8)
        try "R\t491231235959Z\t240101000000Z,keyCompromise\t\(server.serial)\tunknown\t\(server.subject)\n"
            .write(toFile: directory + "/index-revoked.txt", atomically: true, encoding: .utf8)
        try makeOCSPResponse(index: "index-good.txt", responder: "ocsp", certificate: "server", into: "server-good.ocsp.der")
        try makeOCSPResponse(index: "index-revoked.txt", responder: "ocsp", certificate: "server", into: "server-revoked.ocsp.der")
        try makeOCSPResponse(index: "index-good.txt", responder: "ocsp", certificate: "muststaple", into: "muststaple-good.ocsp.der")
        try makeOCSPResponse(index: "index-good.txt", responder: "rogue-ocsp", certificate: "server", into: "server-untrusted.ocsp.der")
    }

    /// The certificate's serial in hex, as `openssl x509 -serial` prints it (what the index holds).
    private func indexEntry(name: String, subject: String) throws -> (serial: String, subject: String) {
        let output = try run(["x509", "-in", "\(name).crt", "-noout", "-serial"])
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("serial=") }) else {
            throw GenerationError(description: "openssl x509 -serial printed no serial for \(name).crt: \(output)")
        }
        return (String(line.dropFirst("serial=".count)), subject)
    }

    /// A response as a responder would send it for a request about `certificate` (one the CA
    /// issued), answered from `index` and signed by `responder`; no nonce (staples have none).
    private func makeOCSPResponse(index: String, responder: String, certificate: String, into name: String) throws {
        try run(["ocsp", "-index", index, "-rsigner", "\(responder).crt", "-rkey", "\(responder).key", "-CA", "ca.pem",
                 "-issuer", "ca.pem", "-cert", "\(certificate).crt", "-no_nonce", "-ndays", "1", "-respout", name])
    }

    private func makeCA(name: String, subject: String) throws {
        try run(["req", "-x509"] + Self.curve + ["-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", subject,
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    }

    private func makeSigned(name: String, subject: String, extensions: String, days: String, ca: String = "ca") throws {
        try run(["req"] + Self.curve + ["-keyout", "\(name).key", "-out", "\(name).csr", "-subj", subject])
        try extensions.write(toFile: directory + "/\(name).ext", atomically: true, encoding: .utf8)
        try run(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key", "-set_serial", "\(name.utf8.reduce(2) { $0 &* 31 &+ Int($1) } & 0xFFFF_FFFF)",
                 "-out", "\(name).crt", "-days", days, "-extfile", "\(name).ext"])
        try concatenate(["\(name).crt", "\(name).key"], into: "\(name).pem")
    }

    private func concatenate(_ parts: [String], into name: String) throws {
        var data = Data()
        for part in parts { data.append(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + part))) }
        try data.write(to: URL(fileURLWithPath: directory + "/" + name))
    }

    /// Runs openssl in the directory. - Returns: what it printed (stdout and stderr).
    @discardableResult
    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw GenerationError(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}
