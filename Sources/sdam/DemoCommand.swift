import ArgumentParser
import Foundation

/// `sdam demo`: the story of discovery and failover, told with measured times.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Tell the SDAM story against a simulated replica set, with measured times.",
        discussion: """
            Starts a three-member replica set on 127.0.0.1 in this process, creates a \
            ClientPool from a one-host seed list (a secondary) and prints one line per step: \
            construction, discovery, steady state, crisis (the primary is killed), resolution \
            (a new primary; the waiting write succeeds) and cleanup. Times are milliseconds \
            since the story started, on the monotonic clock. With --json each line is a JSON \
            object with t_ms, phase, step, message and the step's figures. Takes about \
            2 x window + election delay seconds.
            """
    )

    @Flag(name: .long, help: "Print one JSON object per step.")
    var json = false

    @Option(name: .customLong("heartbeat-ms"), help: "heartbeatFrequencyMS (the default 10 s would make the story long).")
    var heartbeatMS = 1_000

    @Option(name: .customLong("election-delay-ms"), help: "How long the set takes to elect a new primary.")
    var electionDelayMS = 2_000

    @Option(name: .long, help: "Seconds the steady and relaxed check rhythms are watched.")
    var window = 3.5

    func validate() throws {
        guard heartbeatMS >= 500 else { throw ValidationError("--heartbeat-ms must be at least 500 (the spec's minimum), got \(heartbeatMS)") }
        guard electionDelayMS >= 0 else { throw ValidationError("--election-delay-ms must be 0 or more, got \(electionDelayMS)") }
        guard window > 0, window <= 60 else { throw ValidationError("--window must be in (0, 60] seconds, got \(window)") }
    }

    func run() throws {
        let story = DemoStory(heartbeatMS: heartbeatMS, electionDelayMS: electionDelayMS, windowSeconds: window)
        do {
            try story.run { step in
                print(json ? step.jsonLine : step.humanLine)
                fflush(nil)
            }
        } catch {
            FileHandle.standardError.write(Data("demo failed: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
