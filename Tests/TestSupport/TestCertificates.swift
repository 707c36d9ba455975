import MongoSimulator
#if canImport(Glibc)
import Glibc
#endif

/// The certificates of this test process, generated once by the openssl command on first use
/// and deleted when the process exits: no key is committed.
public enum TestCertificates {
    /// - Throws: when openssl is missing or fails (the message has its output).
    public static func shared() throws -> GeneratedCertificates {
        try generated.get()
    }

    private static let generated: Result<GeneratedCertificates, any Error> = {
        let result = Result { try GeneratedCertificates.generate() }
        if case .success = result {
            atexit {
                if case .success(let certificates) = TestCertificates.generated { certificates.remove() }
            }
        }
        return result
    }()
}
