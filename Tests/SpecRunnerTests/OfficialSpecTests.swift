import Foundation
import Testing
@testable import SpecRunner

/// Runs the official JSON spec tests from `../shared/specs` (or `MONGO_SPECS_DIR`), one Swift
/// test per suite folder, and requires zero failures. Missing data is a failure that says where
/// to get it, not a silent pass.
@Suite struct OfficialSpecTests {
    /// Suite folders relative to the specs directory. Each format adds its folders here as it lands.
    static let suites: [String] = [
        "server-discovery-and-monitoring/unified",
        "connection-string",
        "uri-options",
        "server-selection",
        "max-staleness",
        "server-discovery-and-monitoring/rs",
        "server-discovery-and-monitoring/single",
        "server-discovery-and-monitoring/sharded",
        "server-discovery-and-monitoring/load-balanced",
        "server-discovery-and-monitoring/errors",
        "server-discovery-and-monitoring/monitoring",
        // initial-dns-seedlist-discovery runs in the DNS sandbox, through `sdam spec-test`
        // (EndToEndTests/DNSSandboxTests): its records come from the tests' DNS server.
        "connection-monitoring-and-pooling/cmap-format",
        "connection-monitoring-and-pooling/logging",
        "bson-corpus",
        "auth",
    ]

    /// Suites that run every case: a skip there is a regression (the CMAP format skips
    /// nothing; the spec marks none of its files optional for a pool with a background run).
    static let suitesWithoutSkips: Set<String> = [
        "connection-monitoring-and-pooling/cmap-format",
    ]

    static var specsDirectory: String {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        return SpecRunner.defaultSpecsDirectory(packageRoot: packageRoot)
    }

    @Test(arguments: suites)
    func suitePasses(_ suite: String) throws {
        let path = Self.specsDirectory + "/" + suite
        guard FileManager.default.fileExists(atPath: path) else {
            Issue.record("""
                spec data missing at \(path): the official JSON tests of mongodb/specifications \
                (source/**/tests) belong in ../shared/specs, or set MONGO_SPECS_DIR
                """)
            return
        }
        let summary = try SpecRunner().run(paths: [path])
        for result in summary.results {
            if case .failed(let why) = result.outcome {
                Issue.record("\(result.file) :: \(result.name): \(why)")
            }
        }
        #expect(summary.results.count > 0, "no test cases found under \(path)")
        #expect(summary.failed == 0, "\(suite): \(summary.closingLine)")
        if Self.suitesWithoutSkips.contains(suite) {
            for result in summary.results {
                if case .skipped(let why) = result.outcome { Issue.record("\(result.file) :: \(result.name) skipped: \(why)") }
            }
            #expect(summary.skipped == 0, "\(suite): \(summary.closingLine)")
        }
    }
}
