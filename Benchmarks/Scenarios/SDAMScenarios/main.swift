import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@_spi(LoopPrimitives) import MongoClientPool

// SDAMScenarios: timed scenarios of the whole driver against `sdam simulate`.
//
//   SDAMScenarios --sdam PATH [--quick] [--runs N] [--cost-runs N] [--window S] [--json FILE]
//       every scenario, repeated; a markdown table (median, min, max) and JSON
//   SDAMScenarios subject discovery MEMBERS --sdam PATH
//   SDAMScenarios subject stepdown ELECTION_DELAY_MS [poll|stream] --sdam PATH
//   SDAMScenarios subject idle-stepdown poll|stream --sdam PATH
//   SDAMScenarios subject mongos COUNT HEARTBEAT_MS WINDOW_S [poll|stream] --sdam PATH
//   SDAMScenarios subject throughput async|blocking CONCURRENCY WINDOW_S [own-loop|monitor-loop] --sdam PATH
//       one run, one JSON line (the peers' programs take the same arguments)
//   SDAMScenarios subject discovery-timeline MEMBERS [cold|warm] --sdam PATH
//       the steps of one discovery (DiscoveryTrace); warm: after a first one in the process
//   SDAMScenarios subject mongos-listener COUNT --sdam PATH
//       all known with a listener that keeps every event (time, events, RSS)
//   SDAMScenarios subject watch-json COUNT HEARTBEAT_MS WINDOW_S --sdam PATH
//       `sdam watch --json` as a child printing every event to a file: its RSS, CPU, output rate
//   SDAMScenarios subject st-discovery|st-scan|st-failover URI
//       the single-threaded client against a deployment the harness runs (SingleThreadedSubject)
//   --tls   (anywhere) every scenario over TLS, with certificates the simulator makes

var arguments = Array(CommandLine.arguments.dropFirst())

func option(_ name: String, in arguments: inout [String]) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    let value = arguments[i + 1]
    arguments.removeSubrange(i...(i + 1))
    return value
}
func flag(_ name: String, in arguments: inout [String]) -> Bool {
    guard let i = arguments.firstIndex(of: name) else { return false }
    arguments.remove(at: i)
    return true
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("SDAMScenarios: \(message)\n".utf8))
    exit(2)
}

let sdam = option("--sdam", in: &arguments) ?? "../.build/release/sdam"
_ = flag("--tls", in: &arguments)  // read once, as `scenariosUseTLS`
guard FileManager.default.isExecutableFile(atPath: sdam) else { fail("no sdam executable at \(sdam) (--sdam PATH)") }

do {
    if arguments.first == "subject" {
        let rest = Array(arguments.dropFirst())
        let fields: [(String, JSONValue)]
        switch (rest.first, rest.count) {
        case ("st-discovery", 2), ("st-scan", 2), ("st-failover", 2):
            fields = try SingleThreadedSubject.run(rest[0], uri: rest[1])
        case ("discovery", 2):
            guard let members = Int(rest[1]) else { fail("discovery MEMBERS") }
            fields = try Subject.discovery(sdam: sdam, members: members)
        case ("stepdown", 2), ("stepdown", 3):
            guard let delay = Int(rest[1]), let mode = Subject.Mode(rawValue: rest.count == 3 ? rest[2] : "poll") else {
                fail("stepdown ELECTION_DELAY_MS [poll|stream]")
            }
            fields = try Subject.stepdown(sdam: sdam, electionDelayMS: delay, mode: mode)
        case ("idle-stepdown", 2):
            guard let mode = Subject.Mode(rawValue: rest[1]) else { fail("idle-stepdown poll|stream") }
            fields = try Subject.idleStepdown(sdam: sdam, mode: mode)
        case ("mongos", 4), ("mongos", 5):
            guard let count = Int(rest[1]), let heartbeat = Int(rest[2]), let window = Double(rest[3]),
                  let mode = Subject.Mode(rawValue: rest.count == 5 ? rest[4] : "poll") else {
                fail("mongos COUNT HEARTBEAT_MS WINDOW_S [poll|stream]")
            }
            fields = try Subject.mongos(sdam: sdam, count: count, heartbeatMS: heartbeat, windowSeconds: window, mode: mode)
        case ("discovery-timeline", 2), ("discovery-timeline", 3):
            guard let members = Int(rest[1]), rest.count == 2 || ["cold", "warm"].contains(rest[2]) else {
                fail("discovery-timeline MEMBERS [cold|warm]")
            }
            fields = try Subject.discoveryTimeline(sdam: sdam, members: members, warm: rest.count == 3 && rest[2] == "warm")
        case ("mongos-listener", 2):
            guard let count = Int(rest[1]) else { fail("mongos-listener COUNT") }
            fields = try Subject.mongosListener(sdam: sdam, count: count)
        case ("watch-json", 4):
            guard let count = Int(rest[1]), let heartbeat = Int(rest[2]), let window = Double(rest[3]) else {
                fail("watch-json COUNT HEARTBEAT_MS WINDOW_S")
            }
            fields = try WatchSubject.run(sdam: sdam, count: count, heartbeatMS: heartbeat, windowSeconds: window)
        case ("throughput", 4), ("throughput", 5):
            guard let mode = Throughput.Mode(rawValue: rest[1]), let concurrency = Int(rest[2]), let window = Double(rest[3]),
                  ["own-loop", "monitor-loop"].contains(rest.count == 5 ? rest[4] : "own-loop") else {
                fail("throughput async|blocking CONCURRENCY WINDOW_S [own-loop|monitor-loop]")
            }
            let placement: OperationsLoopPlacement = rest.count == 5 && rest[4] == "monitor-loop" ? .monitor : .dedicated
            let box = ConditionLock<Result<[(String, JSONValue)], any Error>?>(nil)
            let sdamPath = sdam
            // Off the main actor, whose thread waits here.
            Task.detached {
                let result: Result<[(String, JSONValue)], any Error>
                do {
                    result = .success(try await Throughput.run(sdam: sdamPath, mode: mode, concurrency: concurrency,
                                                               windowSeconds: window, placement: placement))
                } catch {
                    result = .failure(error)
                }
                box.withLock { $0 = result }
                box.broadcast()
            }
            fields = try box.wait(until: nil) { $0 }!.get()
        default:
            fail("unknown subject scenario: \(rest.joined(separator: " "))")
        }
        FileHandle.standardOutput.write(Data((JSONWriter.write(.object([("driver", .string("swift-sdam")), ("scenario", .string(rest[0]))] + fields)) + "\n").utf8))
    } else {
        let quick = flag("--quick", in: &arguments)
        let runs = option("--runs", in: &arguments).flatMap(Int.init) ?? (quick ? 3 : 5)
        let costRuns = option("--cost-runs", in: &arguments).flatMap(Int.init) ?? (quick ? 1 : 3)
        let window = option("--window", in: &arguments).flatMap(Double.init) ?? (quick ? 5 : 20)
        let json = option("--json", in: &arguments)
        guard arguments.isEmpty else { fail("unexpected arguments: \(arguments.joined(separator: " "))") }
        try Driver(sdam: sdam, quick: quick, runs: runs, costRuns: costRuns, windowSeconds: window, jsonPath: json).run()
    }
} catch {
    fail("\(error)")
}
