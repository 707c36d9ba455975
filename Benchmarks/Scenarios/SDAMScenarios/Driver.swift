import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Runs every scenario several times, each run in a fresh subject process (so threads, memory
/// and CPU are the run's own), and reports median, min and max.
struct Driver {
    var sdam: String
    var quick: Bool
    var runs: Int
    var costRuns: Int
    var windowSeconds: Double
    var jsonPath: String?

    /// One configuration of one scenario and the figures it reports.
    struct Case {
        var label: String
        var arguments: [String]
        var runs: Int
        var metrics: [(key: String, label: String)]
    }

    var cases: [Case] {
        var list: [Case] = []
        for members in [3, 7, 50] {
            list.append(Case(label: "discovery, \(members) members, one secondary seed", arguments: ["discovery", "\(members)"], runs: runs,
                             metrics: [("primaryMS", "primary known (ms)"), ("allMS", "all members known (ms)")]))
        }
        list.append(Case(label: "stepdown -> next successful write (election at once)", arguments: ["stepdown", "0"], runs: runs,
                         metrics: [("toWriteMS", "stepdown to successful write (ms)")]))
        list.append(Case(label: "stepdown -> waiting write succeeds (1000 ms election)", arguments: ["stepdown", "1000"], runs: runs,
                         metrics: [("toWriteMS", "stepdown to successful write (ms)"), ("afterElectionMS", "after the election (ms)")]))
        list.append(Case(label: "stepdown -> waiting write succeeds (1000 ms election), streaming servers (4.4+)",
                         arguments: ["stepdown", "1000", "stream"], runs: runs,
                         metrics: [("toWriteMS", "stepdown to successful write (ms)"), ("afterElectionMS", "after the election (ms)")]))
        for mode in [Subject.Mode.poll, .stream] {
            list.append(Case(label: "stepdown seen by an idle pool, heartbeat 10 s, \(mode == .stream ? "streaming servers (4.4+)" : "polling servers (4.2)")",
                             arguments: ["idle-stepdown", mode.rawValue], runs: runs,
                             metrics: [("newPrimaryMS", "stepdown to new primary selected (ms)")]))
        }
        let sizes = quick ? [100, 1_000] : [100, 1_000, 5_000]
        for count in sizes {
            for heartbeat in [500, 10_000] {
                // A rate needs two periods in the window: a quick run's 5 s window gives none
                // for a 10 s heartbeat.
                let rateMeasurable = Double(heartbeat) * 2 <= windowSeconds * 1000
                var metrics = Self.costMetrics
                if rateMeasurable { metrics.append(("checksPerServerPerMin", "checks/server/min (configured \(60_000 / heartbeat))")) }
                if heartbeat == 500 {
                    metrics.insert(("knownMS", "all known after start (ms)"), at: 0)
                    metrics += [("lagP50MS", "timer lag p50 (ms)"), ("lagP99MS", "timer lag p99 (ms)")]
                } else if rateMeasurable {
                    metrics += [("lagP50MS", "timer lag p50 (ms)"), ("lagP99MS", "timer lag p99 (ms)")]
                }
                list.append(Case(label: "\(count) mongos, heartbeat \(heartbeat) ms, \(Int(windowSeconds)) s window",
                                 arguments: ["mongos", "\(count)", "\(heartbeat)", "\(windowSeconds)"], runs: costRuns, metrics: metrics))
            }
        }
        for count in sizes where count <= 1_000 {
            list.append(Case(label: "\(count) mongos, streaming, heartbeat 10000 ms, \(Int(windowSeconds)) s window",
                             arguments: ["mongos", "\(count)", "10000", "\(windowSeconds)", "stream"], runs: costRuns,
                             metrics: [("knownMS", "all known after start (ms)")] + Self.costMetrics + Self.perServerMetrics
                                 + (windowSeconds >= 20 ? [("checksPerServerPerMin", "awaited replies/server/min (maxAwaitTimeMS 10 s: 6)")] : [])))
        }
        return list
    }

    static let costMetrics: [(key: String, label: String)] = [("threads", "threads"), ("rssMiB", "RSS (MiB)"), ("cpuSecPerMin", "CPU s per minute")]

    /// What monitoring costs per server, above what the process used before the pool existed.
    static let perServerMetrics: [(key: String, label: String)] = [
        ("threadsPerServer", "threads per server"), ("descriptorsPerServer", "descriptors per server"),
        ("kibPerServer", "RSS per server (KiB)"), ("cpuMsPerServerPerMin", "CPU ms per server per minute"),
    ]

    /// Adds the per-server figures to one run's result, from its totals and baselines.
    static func withPerServerFigures(_ result: JSONValue) -> JSONValue {
        guard case .object(var fields) = result, let count = result["count"]?.doubleValue, count > 0 else { return result }
        func value(_ key: String) -> Double? { result[key]?.doubleValue }
        if let t = value("threads"), let b = value("baseThreads") { fields.append(("threadsPerServer", Subject.num((t - b) / count))) }
        if let d = value("descriptors"), let b = value("baseDescriptors") { fields.append(("descriptorsPerServer", Subject.num((d - b) / count))) }
        if let r = value("rssMiB"), let b = value("baseRssMiB") { fields.append(("kibPerServer", Subject.num((r - b) * 1024 / count))) }
        if let c = value("cpuSecPerMin") { fields.append(("cpuMsPerServerPerMin", Subject.num(c * 1000 / count))) }
        return .object(fields)
    }

    func run() throws {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        var rows: [(String, String, [Double])] = []
        var json: [JSONValue] = []
        for c in cases {
            var results: [JSONValue] = []
            for i in 1...c.runs {
                FileHandle.standardError.write(Data("run \(i)/\(c.runs): \(c.label)\n".utf8))
                let line = try Self.runSubject(me, ["subject"] + c.arguments + ["--sdam", sdam] + (scenariosUseTLS ? ["--tls"] : []))
                results.append(Self.withPerServerFigures(try JSONParser.parse(line)))
            }
            for metric in c.metrics {
                let values = results.compactMap { $0[metric.key]?.doubleValue }
                rows.append((c.label, metric.label, values))
                json.append(.object([
                    ("scenario", .string(c.label)), ("metric", .string(metric.key)),
                    ("median", Subject.num(percentile(values, 50) ?? .nan)),
                    ("min", Subject.num(values.min() ?? .nan)), ("max", Subject.num(values.max() ?? .nan)),
                    ("runs", .array(values.map(Subject.num))),
                ]))
            }
        }
        print("| Scenario | Figure | median | min | max | runs |")
        print("|:--|:--|--:|--:|--:|--:|")
        for (scenario, metric, values) in rows {
            let f = { (v: Double?) in v.map { String(format: "%.1f", $0) } ?? "–" }
            print("| \(scenario) | \(metric) | \(f(percentile(values, 50))) | \(f(values.min())) | \(f(values.max())) | \(values.count) |")
        }
        let text = JSONWriter.write(.array(json))
        if let jsonPath {
            try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: jsonPath))
        } else {
            print()
            print(text)
        }
    }

    /// Runs one subject process and returns its last stdout line (its result).
    static func runSubject(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard process.terminationStatus == 0, let last = lines.last else {
            throw Subject.Failure(description: "subject \(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
        return String(last)
    }
}
