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
