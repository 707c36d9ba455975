import ClientPool
import Foundation
import PoolMonitor
import Synchronization

/// One run of one scenario by this driver (a `ClientPool`), against a simulator in its own
/// process. Prints one JSON object. The peers' programs (Benchmarks/peers/) do the same runs
/// with the same arguments and print the same keys.
enum Subject {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func nowNS() -> UInt64 { MonotonicClock.nanoseconds() }
    static func ms(since start: UInt64) -> Double { Double(nowNS() - start) / 1e6 }

    /// Records, per server, when each polling check started and how many succeeded, with the
    /// time of each event (not of its delivery).
    final class CheckLog: Sendable {
        struct State {
            var starts: [ServerAddress: [UInt64]] = [:]
            var successes: [ServerAddress: Int] = [:]
        }
        let state = Mutex(State())

        func record(_ event: MonitoringEvent, at ns: UInt64) {
            switch event {
            case .serverHeartbeatStarted(let server, let awaited) where !awaited:
                state.withLock { $0.starts[server, default: []].append(ns) }
            case .serverHeartbeatSucceeded(let server, _, _, let awaited) where !awaited:
                state.withLock { $0.successes[server, default: 0] += 1 }
            default: break
            }
        }

        func reset() { state.withLock { $0 = State() } }
    }

    static func waitFor(_ topology: Topology, seconds: Double, _ condition: (TopologyDescription) -> Bool) throws {
        let deadline = nowNS() + UInt64(seconds * 1e9)
        var snapshot = topology.snapshot
        while !condition(snapshot.description) {
            guard let next = try topology.waitForChange(after: snapshot.version, until: deadline) else {
                throw Failure(description: "condition not met within \(seconds) s")
            }
            snapshot = next
        }
    }

    static func insert() -> BSONDocument {
        ["insert": .string("bench"), "documents": .array([.document(["x": .int32(1)])])]
    }

    // MARK: - Scenarios

    /// Discovery of an N-member set from one seed (a secondary): when the primary was known,
    /// when every member was.
    static func discovery(sdam: String, members: Int) throws -> [(String, JSONValue)] {
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "\(members)"])
        defer { sim.stop() }
        let start = nowNS()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[1])/?replicaSet=rs0")
        defer { pool.close() }
        try waitFor(pool.topology, seconds: 30) { $0.hasPrimary }
        let primaryMS = ms(since: start)
        try waitFor(pool.topology, seconds: 30) { t in
            t.servers.count == members && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
        }
        let allMS = ms(since: start)
        return [("members", .number("\(members)")), ("primaryMS", num(primaryMS)), ("allMS", num(allMS))]
    }

    /// A stepdown while the application writes: the time from the stepdown to the next
    /// successful write, retrying after each error as an application does.
    static func stepdown(sdam: String, electionDelayMS: Int) throws -> [(String, JSONValue)] {
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "3", "--election-delay-ms", "\(electionDelayMS)"])
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?replicaSet=rs0&serverSelectionTimeoutMS=10000")
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        _ = try client.runWriteCommand(insert(), database: "bench")  // connection to the primary
        let start = nowNS()
        try sim.send("stepdown")
        var firstError = "none"
        var attempts = 0
        while true {
            attempts += 1
            do {
                _ = try client.runWriteCommand(insert(), database: "bench")
                break
            } catch {
                if attempts == 1 {
                    if case .commandFailed(let failed) = error { firstError = failed.codeName ?? "code \(failed.code ?? 0)" }
                    else if case .network = error { firstError = "network error" }
                    else { firstError = "\(error)" }
                }
                guard ms(since: start) < 10_000 else { throw Failure(description: "no successful write 10 s after the stepdown: \(error)") }
            }
        }
        let toWriteMS = ms(since: start)
        return [("electionDelayMS", .number("\(electionDelayMS)")), ("toWriteMS", num(toWriteMS)),
                ("afterElectionMS", num(toWriteMS - Double(electionDelayMS))),
                ("firstError", .string(firstError)), ("attempts", .number("\(attempts)"))]
    }

    /// N mongos listed as seeds: when all are known; then, over a window, what monitoring
    /// costs and how well it keeps the configured rhythm.
    static func mongos(sdam: String, count: Int, heartbeatMS: Int, windowSeconds: Double) throws -> [(String, JSONValue)] {
        ProcessUsage.raiseDescriptorLimit()
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--mongos", "\(count)"])
        defer { sim.stop() }
        let log = CheckLog()
        let events = EventPublisher()
        events.addTimedHandler { log.record($0, at: $1) }
        let baseThreads = ProcessUsage.threads()
        let baseRSS = ProcessUsage.residentMiB()
        let start = nowNS()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?heartbeatFrequencyMS=\(heartbeatMS)", events: events)
        defer { pool.close() }
        try waitFor(pool.topology, seconds: 120) { t in
            t.servers.count == count && t.servers.values.allSatisfy { $0.type == .mongos }
        }
        let knownMS = ms(since: start)
        events.flush()
        log.reset()
        let cpu0 = ProcessUsage.cpuSeconds()
        let w0 = nowNS()
        Thread.sleep(forTimeInterval: windowSeconds)
        let cpu1 = ProcessUsage.cpuSeconds()
        let window = Double(nowNS() - w0) / 1e9
        let threads = ProcessUsage.threads()
        let rss = ProcessUsage.residentMiB()
        events.flush()
        let state = log.state.withLock { $0 }
        let perServer = pool.topology.description.servers.keys.map { Double(state.successes[$0] ?? 0) / window * 60 }
        let lags = state.starts.values.flatMap { starts in
            zip(starts.dropFirst(), starts).map { Double($0 &- $1) / 1e6 - Double(heartbeatMS) }
        }
        return [
            ("count", .number("\(count)")), ("heartbeatMS", .number("\(heartbeatMS)")), ("windowS", num(window)),
            ("knownMS", num(knownMS)), ("threads", .number("\(threads)")), ("baseThreads", .number("\(baseThreads)")),
            ("rssMiB", num(rss)), ("baseRssMiB", num(baseRSS)),
            ("cpuSecPerMin", num((cpu1 - cpu0) / window * 60)),
            ("checksPerServerPerMin", num(percentile(perServer, 50) ?? 0)),
            ("configuredPerMin", num(60_000 / Double(heartbeatMS))),
            ("lagP50MS", num(percentile(lags, 50) ?? -1)), ("lagP99MS", num(percentile(lags, 99) ?? -1)),
        ]
    }

    static func num(_ value: Double) -> JSONValue { .number(String(format: "%.3f", value)) }
}
