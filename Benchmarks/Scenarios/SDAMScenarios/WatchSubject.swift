import Foundation
import MongoBSON
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// `subject watch-json COUNT HEARTBEAT_MS WINDOW_S`: what `sdam watch --json` costs when it
/// prints every event of COUNT simulated mongos to a file. The tool runs as a child process
/// (its own RSS and CPU, not the harness's) with stdout on a temporary file; the harness tails
/// that file to see discovery end (every mongos' `serverDescriptionChanged` to Mongos), then
/// measures the child over a steady window, as the `mongos` subject does in process.
enum WatchSubject {
    typealias Failure = Subject.Failure

    static func run(sdam: String, count: Int, heartbeatMS: Int, windowSeconds: Double) throws -> [(String, JSONValue)] {
        OpenFileLimit.raiseToHardLimit()
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--mongos", "\(count)"])
        defer { sim.stop() }
        let outputPath = NSTemporaryDirectory() + "sdam-watch-\(getpid()).jsonl"
        guard FileManager.default.createFile(atPath: outputPath, contents: nil) else { throw Failure(description: "cannot create \(outputPath)") }
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        guard let output = FileHandle(forWritingAtPath: outputPath) else { throw Failure(description: "cannot write \(outputPath)") }

        let child = Process()
        child.executableURL = URL(fileURLWithPath: sdam)
        let uri = "mongodb://\(sim.addresses.joined(separator: ","))/?heartbeatFrequencyMS=\(heartbeatMS)" + sim.clientOptions
        // The harness stops it (SIGTERM) after the window; the duration is a backstop.
        child.arguments = ["watch", "--json", uri, "--duration", "\(Int(windowSeconds) + 180)"]
        child.standardOutput = output
        child.standardError = FileHandle.standardError
        let start = Subject.nowNS()
        try child.run()
        try? output.close()
        defer {
            if child.isRunning { child.terminate() }
            child.waitUntilExit()
        }
        let pid = child.processIdentifier
        let tail = try OutputTail(path: outputPath)

        // Discovery: every mongos has been printed as Mongos.
        let deadline = start + 120_000_000_000
        while tail.mongosKnown < count {
            guard child.isRunning, Subject.nowNS() < deadline else {
                throw Failure(description: "sdam watch printed \(tail.mongosKnown) of \(count) mongos as known")
            }
            usleep(20_000)
            tail.read()
        }
        let knownMS = Subject.ms(since: start)
        // The printer catches up with what queued while it printed the discovery, so that the
        // window measures the steady state rather than a backlog.
        func lagSeconds() -> Double { Double(Subject.nowNS() - start) / 1e9 - tail.lastT }
        while lagSeconds() > 0.25 {
            guard child.isRunning, Subject.nowNS() < deadline else {
                throw Failure(description: "sdam watch stayed \(lagSeconds()) s behind after discovery")
            }
            usleep(20_000)
            tail.read()
        }
        let caughtUpMS = Subject.ms(since: start)

        // The steady window: CPU and output from here; RSS sampled every 250 ms.
        let cpu0 = ProcessUsage.cpuSeconds(ofProcess: pid)
        let lines0 = tail.lines, bytes0 = tail.bytes, counts0 = tail.counts
        let w0 = Subject.nowNS()
        var rssSamples: [Double] = []
        while Double(Subject.nowNS() - w0) / 1e9 < windowSeconds {
            usleep(250_000)
            rssSamples.append(ProcessUsage.residentMiB(ofProcess: pid))
            tail.read()
        }
        let cpu1 = ProcessUsage.cpuSeconds(ofProcess: pid)
        let window = Double(Subject.nowNS() - w0) / 1e9
        tail.read()
        let finalRSS = ProcessUsage.residentMiB(ofProcess: pid)
        let peakRSS = ProcessUsage.residentMiB(ofProcess: pid, field: "VmHWM:")
        let threads = ProcessUsage.threads(ofProcess: pid)
        // How far the printer is behind: the child's age against the `t` of its last line.
        let lagS = lagSeconds()
        let lines = tail.lines - lines0, bytes = tail.bytes - bytes0
        let perEvent = tail.counts.map { name, n in (name, Subject.num(Double(n - (counts0[name] ?? 0)) / window)) }
        child.terminate()
        child.waitUntilExit()
        return [
            ("count", .number("\(count)")), ("heartbeatMS", .number("\(heartbeatMS)")), ("windowS", Subject.num(window)),
            ("knownMS", Subject.num(knownMS)), ("caughtUpMS", Subject.num(caughtUpMS)),
            ("rssMiB", Subject.num(finalRSS)), ("windowPeakRssMiB", Subject.num(rssSamples.max() ?? finalRSS)),
            ("peakRssMiB", Subject.num(peakRSS)), ("threads", .number("\(threads)")),
            ("cpuSecPerMin", Subject.num((cpu1 - cpu0) / window * 60)),
            ("eventsPerSec", Subject.num(Double(lines) / window)),
            ("bytesPerLine", Subject.num(lines > 0 ? Double(bytes) / Double(lines) : 0)),
            ("printerLagS", Subject.num(lagS)),
            ("perSec", .object(perEvent.filter { $0.1 != Subject.num(0) }.sorted { $0.0 < $1.0 })),
        ]
    }
}

/// Reads what `sdam watch --json` has written so far: lines, bytes, lines per event name, the
/// `t` of the last line, and how many mongos it has printed as known. Works on raw bytes: the
/// discovery alone writes tens of megabytes (some 4,000 lines a second at 1,000 mongos).
final class OutputTail {
    private let descriptor: Int32
    /// The unfinished last line, carried to the next read.
    private var partial: [UInt8] = []
    private var chunk = [UInt8](repeating: 0, count: 1 << 20)
    private(set) var lines = 0
    private(set) var bytes = 0
    private(set) var lastT = 0.0
    private(set) var mongosKnown = 0
    /// Lines per event name.
    private(set) var counts: [String: Int] = [:]

    init(path: String) throws {
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw WatchSubject.Failure(description: "cannot read \(path)") }
    }

    deinit { close(descriptor) }

    /// Consumes what was appended since the last call.
    func read() {
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            bytes += n
            partial.append(contentsOf: chunk[0..<n])
            var lineStart = 0
            partial.withUnsafeBufferPointer { all in
                while let newline = all[lineStart...].firstIndex(of: 0x0A) {
                    lines += 1
                    inspect(UnsafeBufferPointer(rebasing: all[lineStart..<newline]))
                    lineStart = newline + 1
                }
            }
            partial.removeFirst(lineStart)
        }
    }

    private static let eventKey = Array(#""event":""#.utf8)
    private static let newMongos = Array(#""newType":"Mongos""#.utf8)

    private func inspect(_ line: UnsafeBufferPointer<UInt8>) {
        // `{"t":12.345678,...`: the first field is the time since the tool started.
        if line.count > 5, let comma = line.firstIndex(of: UInt8(ascii: ",")), comma > 5 {
            if let t = Double(String(decoding: UnsafeBufferPointer(rebasing: line[5..<comma]), as: UTF8.self)) { lastT = t }
        }
        guard let nameStart = end(of: Self.eventKey, in: line),
              let nameEnd = line[nameStart...].firstIndex(of: UInt8(ascii: "\"")) else { return }
        let name = String(decoding: UnsafeBufferPointer(rebasing: line[nameStart..<nameEnd]), as: UTF8.self)
        counts[name, default: 0] += 1
        if name == "serverDescriptionChanged", end(of: Self.newMongos, in: line) != nil { mongosKnown += 1 }
    }

    /// The index just past the first occurrence of `needle` in `line`.
    private func end(of needle: [UInt8], in line: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        while i + needle.count <= line.count {
            if line[i] == needle[0], needle.indices.allSatisfy({ line[i + $0] == needle[$0] }) { return i + needle.count }
            i += 1
        }
        return nil
    }
}
