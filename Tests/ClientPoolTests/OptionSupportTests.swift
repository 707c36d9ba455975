import Logging
import Testing
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Nothing silently ignored: an option is in effect, refused at pool creation, or warned about
/// by name.
@Suite struct OptionSupportTests {
    /// Records what is logged.
    struct RecordingLogHandler: LogHandler {
        let lines: ConditionLock<[String]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let detail = event.metadata?["mongo.warning"].map { " \($0)" } ?? ""
            lines.withLock { $0.append("\(event.level): \(event.message)\(detail)") }
        }
    }

    static func refusal(_ uri: String) -> String? {
        do {
            let pool = try ClientPool(uri: uri)
            pool.close()
            return nil
        } catch {
            guard case .unsupportedConfiguration(let reason) = error else { return "unexpected: \(error)" }
            return reason
        }
    }

    @Test("TLS options are in effect: a pool with TLS is created without I/O, and an unreadable CA file refuses it by name")
    func tlsOptionsAreInEffect() {
        for uri in ["mongodb://127.0.0.1:1/?tls=true", "mongodb://127.0.0.1:1/?ssl=true&tlsAllowInvalidHostnames=true"] {
            #expect(Self.refusal(uri) == nil, "\(uri)")
        }
        let reason = Self.refusal("mongodb://127.0.0.1:1/?tls=true&tlsCAFile=/nonexistent/ca.pem")
        #expect(reason?.contains("/nonexistent/ca.pem") == true, "\(String(describing: reason))")
        let keyPassword = Self.refusal("mongodb://127.0.0.1:1/?tls=true&tlsCertificateKeyFile=/nonexistent/c.pem&tlsCertificateKeyFilePassword=k3y-pw")
        #expect(keyPassword?.contains("/nonexistent/c.pem") == true)
        #expect(keyPassword?.contains("k3y-pw") == false, "the key's password is never shown")
    }

    @Test("credentials are in effect; mechanisms never built are refused by name, without repeating the password")
    func credentialsAreInEffectAndRefusalsNotEchoed() throws {
        #expect(Self.refusal("mongodb://alice:s3cr3t-pw@127.0.0.1:1/") == nil)
        #expect(Self.refusal("mongodb://alice:s3cr3t-pw@127.0.0.1:1/?authMechanism=SCRAM-SHA-1") == nil)
        let reason = try #require(Self.refusal("mongodb://alice:s3cr3t-pw@127.0.0.1:1/?authMechanism=PLAIN"))
        #expect(reason.contains("PLAIN is not supported"), "\(reason)")
        #expect(!reason.contains("s3cr3t-pw"), "\(reason)")
        #expect(Self.refusal("mongodb://127.0.0.1:1/?timeoutMS=500")?.contains("timeoutMS") == true)
        #expect(Self.refusal("mongodb://127.0.0.1:1/?proxyHost=p.example")?.contains("SOCKS5") == true)
    }

    @Test("options without effect on runCommand are accepted and named once each in a warning")
    func noEffectOptionsAreWarnedByName() throws {
        let lines = ConditionLock<[String]>([])
        let logger = Logger(label: "test") { _ in RecordingLogHandler(lines: lines) }
        let pool = try ClientPool(uri: "mongodb://127.0.0.1:1/?w=majority&retryWrites=true&readConcernLevel=local", logger: logger)
        pool.close()
        let warnings = lines.withLock { $0 }.filter { $0.hasPrefix("warning") }
        for name in ["w has no effect", "retryWrites has no effect", "readConcernLevel has no effect"] {
            #expect(warnings.filter { $0.contains(name) }.count == 1, "\(name): \(warnings)")
        }
        #expect(Self.refusal("mongodb://127.0.0.1:1/?maxPoolSize=5&minPoolSize=1&maxIdleTimeMS=100") == nil, "options in effect are accepted")
    }
}
