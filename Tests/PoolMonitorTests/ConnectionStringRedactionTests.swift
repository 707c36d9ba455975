@_spi(Reflection) import Swift
import Testing
@testable import SDAMCore

/// `dump` and reflection of a parsed connection string never print its secrets, and the
/// redacting mirrors list every stored field.
@Suite struct ConnectionStringRedactionTests {
    static let uri = "mongodb://alice:s3cr3t-pw@db.example/?tls=true&tlsCertificateKeyFile=/k.pem"
        + "&tlsCertificateKeyFilePassword=k3y-pw&proxyHost=p.example&proxyUsername=u&proxyPassword=pr0xy-pw"
        + "&authMechanism=SCRAM-SHA-256"

    @Test func dumpShowsNoPassword() throws {
        let parsed = try ConnectionString(Self.uri)
        var text = ""
        dump(parsed, to: &text)
        for secret in ["s3cr3t-pw", "k3y-pw", "pr0xy-pw"] {
            #expect(!text.contains(secret), "dump printed \(secret)")
        }
        #expect(text.contains("alice") && text.contains("db.example") && text.contains("***"))
        #expect(!String(reflecting: parsed).contains("s3cr3t-pw"))
    }

    @Test func theMirrorsListEveryStoredField() {
        for (type, mirror) in [(ConnectionOptions.self as Any.Type, Mirror(reflecting: ConnectionOptions())),
                               (ConnectionString.self as Any.Type, Mirror(reflecting: try! ConnectionString("mongodb://a")))] {
            var stored: [String] = []
            _ = _forEachField(of: type) { name, _, _, _ in
                stored.append(String(cString: name))
                return true
            }
            #expect(!stored.isEmpty)
            #expect(Set(mirror.children.compactMap(\.label)) == Set(stored), "\(type)")
        }
    }
}
