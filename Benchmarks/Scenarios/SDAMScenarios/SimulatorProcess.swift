import Foundation

/// Whether the scenarios run over TLS (`--tls` on the command line): the simulator then makes
/// its certificates (`sdam simulate --tls-generate`) and the clients trust its CA.
let scenariosUseTLS = CommandLine.arguments.contains("--tls")

/// A simulated deployment in its own process (`sdam simulate`), driven through its stdin
/// control protocol. Its own process keeps the simulator's CPU, threads and memory out of the
/// figures of the client under test.
final class SimulatorProcess {
    struct Failure: Error, CustomStringConvertible { var description: String }

    private(set) var addresses: [String] = []
    /// The CA of the simulator's generated certificates, when it speaks TLS.
    private(set) var caFile: String?

    /// What a client's connection string adds to reach this deployment: TLS and its CA.
    var clientOptions: String { caFile.map { "&tls=true&tlsCAFile=\($0)" } ?? "" }
    private let process = Process()

    /// The simulator's CPU seconds so far (user + system, from /proc/PID/stat): on two cores
    /// it competes with the client under test, so the mongos scenario reports it beside the
    /// client's own.
    var cpuSeconds: Double { ProcessUsage.cpuSeconds(ofProcess: process.processIdentifier) }
    /// Its threads' time running and waiting for a core so far.
    var schedule: ProcessUsage.Schedule { ProcessUsage.schedule(ofProcess: process.processIdentifier) }
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = Data()

    /// Starts `sdam simulate ARGS` and waits (at most 60 s) for its `ready` line.
    init(sdam: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: sdam)
        process.arguments = ["simulate"] + arguments + (scenariosUseTLS ? ["--tls-generate"] : [])
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        var ready: String?
        let deadline = Date().addingTimeInterval(60)
        while ready == nil, Date() < deadline {
            guard let line = readLine() else { break }
            if line.hasPrefix("ready ") { ready = line }
            if line.hasPrefix("tls ca="), let ca = line.split(separator: " ").first(where: { $0.hasPrefix("ca=") }) {
                caFile = String(ca.dropFirst(3))
            }
            if line.hasPrefix("error") { break }
        }
        guard let ready else {
            process.terminate()
            throw Failure(description: "sdam simulate \(arguments.joined(separator: " ")) did not become ready")
        }
        addresses = ready.dropFirst("ready ".count).split(separator: ",").map(String.init)
    }

    /// Sends one control line and returns the answer line.
    @discardableResult
    func send(_ command: String) throws -> String {
        input.fileHandleForWriting.write(Data((command + "\n").utf8))
        guard let answer = readLine() else { throw Failure(description: "the simulator exited after '\(command)'") }
        guard answer.hasPrefix("ok") else { throw Failure(description: "'\(command)': \(answer)") }
        return answer
    }

    /// Quits the simulator and reaps it.
    func stop() {
        input.fileHandleForWriting.write(Data("quit\n".utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    private func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}

/// COUNT simulated mongos over as many `sdam simulate` processes as it takes to hold at most
/// `perProcess` each: a simulator holds a listener and an accepted connection per mongos (two
/// descriptors with a polling client, three with a streaming one), and a process may hold
/// 20,000 here. The client gets one seed list with every address.
final class MongosSimulators {
    /// 5,000 mongos take about 10,000 descriptors in a simulator with a polling client.
    static let perProcess = 5_000

    let processes: [SimulatorProcess]

    /// How `count` mongos are split: as evenly as possible, each part at most `perProcess`.
    static func split(_ count: Int, perProcess: Int = perProcess) -> [Int] {
        let parts = max(1, (count + perProcess - 1) / perProcess)
        return (0..<parts).map { count / parts + ($0 < count % parts ? 1 : 0) }
    }

    /// Starts the simulators in turn; stops those already started when one fails.
    init(sdam: String, count: Int, arguments: [String]) throws {
        let sizes = Self.split(count)
        // Each simulator makes its own CA under --tls, and the client trusts one CA file.
        guard !scenariosUseTLS || sizes.count == 1 else {
            throw SimulatorProcess.Failure(description: "--tls takes at most \(Self.perProcess) mongos (one simulator, one CA)")
        }
        var started: [SimulatorProcess] = []
        do {
            for size in sizes {
                started.append(try SimulatorProcess(sdam: sdam, arguments: ["--mongos", "\(size)"] + arguments))
            }
        } catch {
            started.forEach { $0.stop() }
            throw error
        }
        processes = started
    }

    var addresses: [String] { processes.flatMap(\.addresses) }
    var clientOptions: String { processes.first?.clientOptions ?? "" }
    /// The CPU seconds of every simulator so far.
    var cpuSeconds: Double { processes.reduce(0) { $0 + $1.cpuSeconds } }
    /// Every simulator's threads' time running and waiting for a core so far.
    var schedule: ProcessUsage.Schedule {
        processes.reduce(into: ProcessUsage.Schedule()) { total, process in
            let one = process.schedule
            total.runNS += one.runNS
            total.waitNS += one.waitNS
        }
    }

    func stop() { processes.forEach { $0.stop() } }
}
