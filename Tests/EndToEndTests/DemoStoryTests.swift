import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import Testing

/// `sdam demo --json` tells the story in the right order with sane times. The test runs the
/// built `sdam` executable (SwiftPM builds it next to the test bundle), so it checks what a
/// user sees, not a copy of the story.
@Suite(.serialized) struct DemoStoryTests {
    static let heartbeatMS = 1_000
    static let electionDelayMS = 800

    struct Step {
        var name: String
        var tMS: Double
        var json: JSONValue
        func number(_ key: String) -> Double? { json[key]?.doubleValue }
    }

    /// The `sdam` executable beside this test bundle.
    static func sdamExecutable() throws -> URL {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let url = me.deletingLastPathComponent().appendingPathComponent("sdam")
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "sdam is not built at \(url.path); run `swift build` first")
        return url
    }

    static func runDemo() throws -> (status: Int32, steps: [Step], stderr: String) {
        let process = Process()
        process.executableURL = try sdamExecutable()
        process.arguments = ["demo", "--json", "--window", "2", "--heartbeat-ms", "\(heartbeatMS)", "--election-delay-ms", "\(electionDelayMS)"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // The story is bounded (about 5 s here); read to EOF, then reap.
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        var steps: [Step] = []
        for line in lines {
            let json = try JSONParser.parse(line)
            let name = try #require(json["step"]?.stringValue, "a line without a step: \(line)")
            let t = try #require(json["t_ms"]?.doubleValue, "a line without t_ms: \(line)")
            steps.append(Step(name: name, tMS: t, json: json))
        }
        return (process.terminationStatus, steps, String(decoding: errData, as: UTF8.self))
    }

    @Test func theStoryHappensInOrderWithSaneTimes() throws {
        let (status, steps, stderr) = try Self.runDemo()
        #expect(status == 0, "sdam demo exited \(status): \(stderr)")
        let names = steps.map(\.name)
        let expected = [
            "replicaSetStarted", "poolCreated", "secondaryReadCouldProceed", "primaryFound", "allMembersKnown",
            "writeSucceeded", "checkRhythm", "primaryKilled", "poolNoticed", "checksWhileWaiting", "newPrimary",
            "waitingWriteSucceeded", "checksRelaxed", "closed",
        ]
        // In this order (writeFailed/writeWaiting/secondaryReadReturned fall in between).
        var index = names.startIndex
        for name in expected {
            let found = names[index...].firstIndex(of: name)
            #expect(found != nil, "step \(name) missing or out of order in \(names)")
            if let found { index = found + 1 }
        }
        #expect(names.contains("writeWaiting"), "no write waited for the new primary: \(names)")
        #expect(zip(steps, steps.dropFirst()).allSatisfy { $0.tMS <= $1.tMS }, "times go backwards: \(steps.map(\.tMS))")

        func step(_ name: String) throws -> Step { try #require(steps.first { $0.name == name }) }
        let construction = try #require(try step("poolCreated").number("constructionMS"))
        #expect(construction < 100, "construction took \(construction) ms")
        let discovery = try step("allMembersKnown").tMS - step("poolCreated").tMS
        #expect(discovery < 2_000, "all members known \(discovery) ms after construction")
        let noticed = try #require(try step("poolNoticed").number("afterKillMS"))
        #expect(noticed < 1_000, "the dead primary was noticed after \(noticed) ms")
        let newPrimary = try #require(try step("newPrimary").number("afterKillMS"))
        #expect(newPrimary >= Double(Self.electionDelayMS) && newPrimary < Double(Self.electionDelayMS) + 1_500,
                "new primary known \(newPrimary) ms after the kill, election delay \(Self.electionDelayMS) ms")
        let afterPrimary = try #require(try step("waitingWriteSucceeded").number("afterNewPrimaryMS"))
        #expect(afterPrimary >= 0 && afterPrimary < 1_000, "the waiting write succeeded \(afterPrimary) ms after the new primary")

        // The steady window opens after the checks that discovery's waiting read asked for
        // (minHeartbeatFrequencyMS after each server's first): a median of 500s and 1000s was
        // not the heartbeat's rhythm.
        let window = try #require(try step("checkRhythm").number("windowMS"))
        #expect(try step("checkRhythm").tMS - window - step("allMembersKnown").tMS >= 500, "the steady window opened too early")
        let steady = try #require(try step("checkRhythm").number("medianIntervalMS"))
        #expect(steady >= 0.9 * Double(Self.heartbeatMS) && steady < 1.5 * Double(Self.heartbeatMS), "steady interval \(steady) ms")
        let waiting = try #require(try step("checksWhileWaiting").number("medianIntervalMS"))
        #expect(waiting >= 450 && waiting < 0.9 * Double(Self.heartbeatMS), "interval while a write waited \(waiting) ms")
        let relaxed = try #require(try step("checksRelaxed").number("medianIntervalMS"))
        // The window's first interval of each server still straddles the crisis rhythm, so the
        // median sits between the two under load; it must have left the 500 ms rhythm.
        #expect(relaxed >= 0.6 * Double(Self.heartbeatMS) && relaxed > waiting && relaxed < 1.5 * Double(Self.heartbeatMS),
                "relaxed interval \(relaxed) ms (while waiting: \(waiting) ms)")
    }
}
