import Foundation
import MongoBSON
import Testing

/// `sdam watch --single-threaded --json` prints each scan as it happens: why it ran, the servers
/// it checked and how long it took, after the heartbeat events of its checks.
@Suite struct SingleThreadedWatchTests {
    @Test func watchPrintsEachScanWithItsServersAndDuration() throws {
        let process = Process()
        process.executableURL = try DemoStoryTests.sdamExecutable()
        process.arguments = ["watch", "--single-threaded", "--json", "--duration", "2.3"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let lines = try String(decoding: data, as: UTF8.self).split(separator: "\n").map { try JSONParser.parse(String($0)) }
        let scans = lines.filter { $0["event"]?.stringValue == "scan" }
        #expect(scans.count >= 2, "a scan a second (heartbeatFrequencyMS=1000) for 2.3 s: \(scans.count)")
        let first = try #require(scans.first)
        #expect(first["reason"]?.stringValue == "initial")
        #expect(first["checked"]?.arrayValue?.count == 3, "the seed and the two members it named")
        #expect(scans.dropFirst().allSatisfy { $0["reason"]?.stringValue == "heartbeat" })
        let duration = try #require(first["durationMS"]?.doubleValue)
        #expect(duration > 0 && duration < 1_000)
        let firstScan = try #require(lines.firstIndex { $0["event"]?.stringValue == "scan" })
        let succeeded = lines[..<firstScan].filter { $0["event"]?.stringValue == "serverHeartbeatSucceeded" }.count
        #expect(succeeded == 3, "the scan's checks are printed before it")
    }
}
