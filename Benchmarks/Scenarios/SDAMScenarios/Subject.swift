import MongoClientPool
import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// One run of one scenario by this driver (a `ClientPool`), against a simulator in its own
/// process. Prints one JSON object. The peers' programs (Benchmarks/peers/) do the same runs
/// with the same arguments and print the same keys.
enum Subject {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static func nowNS() -> UInt64 { MonotonicClock.nanoseconds() }
    static func ms(since start: UInt64) -> Double { Double(nowNS() - start) / 1e6 }

    /// Records, per server, when each polling check started, and how many checks (polled or
    /// awaited) succeeded with the first and last time, by when each event happened (not when
    /// it was delivered).
    final class CheckLog: Sendable {
        struct State {
            var starts: [ServerAddress: [UInt64]] = [:]
            var successes: [ServerAddress: (count: Int, first: UInt64, last: UInt64)] = [:]
            /// Of polled checks: how long each took (ms), and how late each started after the
            /// heartbeat that followed the previous success (ms): the two parts of timer lag.
            var durationsMS: [Double] = []
            var waitsAfterSuccessMS: [Double] = []
        }
        let heartbeatMS: Double
        init(heartbeatMS: Int = 0) { self.heartbeatMS = Double(heartbeatMS) }
        let state = ConditionLock(State())

        func record(_ event: MonitoringEvent, at ns: UInt64) {
            switch event {
            case .serverHeartbeatStarted(let server, let awaited) where !awaited:
                state.withLock { s in
                    s.starts[server, default: []].append(ns)
                    if let last = s.successes[server]?.last, s.starts[server]!.count > 1 {
                        s.waitsAfterSuccessMS.append(Double(ns &- last) / 1e6 - heartbeatMS)
                    }
                }
            case .serverHeartbeatSucceeded(let server, let durationMS, _, let awaited):
                state.withLock { s in
                    if !awaited, s.starts[server] != nil { s.durationsMS.append(durationMS) }
                    let seen = s.successes[server]
                    s.successes[server] = ((seen?.count ?? 0) + 1, seen?.first ?? ns, ns)
                }
            default: break
            }
        }

        /// Starts the window: forgets the starts, and keeps of each server's successes only the
        /// last one, as the anchor its in-window rate is measured from.
        func startWindow() {
            state.withLock { s in
                s.starts = [:]
                s.durationsMS = []
                s.waitsAfterSuccessMS = []
                s.successes = s.successes.mapValues { (count: 1, first: $0.last, last: $0.last) }
            }
        }
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

    /// Whether all `members` of a replica set are known, each as primary or secondary.
    static func isReplicaSet(_ t: TopologyDescription, discoveredWith members: Int) -> Bool {
        t.servers.count == members && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
    }

    /// Discovery of an N-member set from one seed (a secondary): when the primary was known,
    /// when every member was — the times the driver published those topology changes (an
    /// event's own timestamp, taken in the transition), which is what the libmongoc peer reads
    /// (its APM callback runs in the transition too) — and when a thread waiting on the
    /// topology woke to find every member known (`allWokeMS`).
    static func discovery(sdam: String, members: Int) throws -> [(String, JSONValue)] {
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "\(members)"])
        defer { sim.stop() }
        let known = ConditionLock<(primaryNS: UInt64?, allNS: UInt64?)>((nil, nil))
        let events = EventPublisher()
        let isDiscovered: @Sendable (TopologyDescription) -> Bool = { isReplicaSet($0, discoveredWith: members) }
        // The harness's own first-use costs (this module's generic code over the description)
        // are paid before the clock starts, as the C peer's callback has none.
        var sample = ServerMap()
        for port in 1...3 { sample[ServerAddress(host: "warm-up.invalid", port: UInt16(port))] = ServerDescription(address: ServerAddress(host: "warm-up.invalid", port: UInt16(port))) }
        _ = isDiscovered(TopologyDescription(type: .replicaSetNoPrimary, servers: sample))
        _ = TopologyDescription(type: .replicaSetNoPrimary, servers: sample).hasPrimary
        events.addTimedHandler { event, ns in
            guard case .sdam(.topologyDescriptionChanged(_, let new)) = event else { return }
            let hasPrimary = new.hasPrimary
            let all = isDiscovered(new)
            known.withLock { k in
                if hasPrimary, k.primaryNS == nil { k.primaryNS = ns }
                if all, k.allNS == nil { k.allNS = ns }
            }
        }
        let start = nowNS()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses[1])/?replicaSet=rs0" + sim.clientOptions, events: events)
        defer { pool.close() }
        try waitFor(pool.topology, seconds: 30, isDiscovered)
        let allWokeMS = ms(since: start)
        events.flush()
        let (primaryNS, allNS) = known.withLock { $0 }
        guard let primaryNS, let allNS else { throw Failure(description: "no topologyDescriptionChanged event showed the set discovered") }
        return [("members", .number("\(members)")), ("primaryMS", num(Double(primaryNS &- start) / 1e6)),
                ("allMS", num(Double(allNS &- start) / 1e6)), ("allWokeMS", num(allWokeMS))]
    }

    /// The timeline of one discovery from one secondary seed: each step the driver marks
    /// (`DiscoveryTrace`: pool creation, the loop thread's start, each connection's connect,
    /// write, read and decode, each apply, broadcast), in milliseconds from `ClientPool(uri:)`,
    /// with the server it concerns; no listener, so the steps are those of `discovery`.
    /// `warm`: a first discovery (of another deployment) runs untraced before, so the traced
    /// one shows what is left once the process's first-use costs are paid.
    static func discoveryTimeline(sdam: String, members: Int, warm: Bool = false) throws -> [(String, JSONValue)] {
        if warm { _ = try discovery(sdam: sdam, members: members) }
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "\(members)"])
        defer { sim.stop() }
        let uri = "mongodb://\(sim.addresses[1])/?replicaSet=rs0" + sim.clientOptions
        DiscoveryTrace.start()
        let start = nowNS()
        let pool = try ClientPool(uri: uri)
        let created = ms(since: start)
        defer { pool.close() }
        try waitFor(pool.topology, seconds: 30) { $0.hasPrimary }
        let primaryMS = ms(since: start)
        try waitFor(pool.topology, seconds: 30) { isReplicaSet($0, discoveredWith: members) }
        let allMS = ms(since: start)
        let (marks, dropped) = DiscoveryTrace.stop()
        let timeline = marks.map { mark in
            JSONValue.string(String(format: "%.3f ", Double(mark.nanoseconds &- start) / 1e6) + "\(mark.step)"
                             + (mark.server.map { " \($0)" } ?? ""))
        }
        return [("warm", .bool(warm)), ("createdMS", num(created)), ("primaryMS", num(primaryMS)), ("allMS", num(allMS)),
                ("droppedMarks", .number("\(dropped)")), ("timeline", .array(timeline))]
    }

    /// A stepdown while the application writes: the time from the stepdown to the next
    /// successful write, retrying after each error as an application does.
    static func stepdown(sdam: String, electionDelayMS: Int, mode: Mode) throws -> [(String, JSONValue)] {
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "3", "--election-delay-ms", "\(electionDelayMS)"] + mode.simulatorArguments)
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?replicaSet=rs0&serverSelectionTimeoutMS=10000" + sim.clientOptions)
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
        return [("mode", .string(mode.rawValue)), ("electionDelayMS", .number("\(electionDelayMS)")), ("toWriteMS", num(toWriteMS)),
                ("afterElectionMS", num(toWriteMS - Double(electionDelayMS))),
                ("firstError", .string(firstError)), ("attempts", .number("\(attempts)"))]
    }

    /// How the simulated servers behave, which decides how every driver monitors them: `poll`
    /// servers behave like MongoDB 4.2 (no topologyVersion, so clients poll); `stream` servers
    /// like 4.4+ (topologyVersion and awaitable hellos, so pooled clients stream, as the
    /// default serverMonitoringMode=auto asks).
    enum Mode: String {
        case poll, stream
        var simulatorArguments: [String] { self == .stream ? ["--topology-version"] : [] }
    }

    /// A stepdown while the pool is idle, with the default 10 s heartbeat: the time from the
    /// stepdown until selecting a server for a write returns the new primary. The pool sits
    /// idle for 0.5 s plus a random part of a heartbeat first, so that a polling driver's next
    /// check falls anywhere in its period, as it would in production.
    static func idleStepdown(sdam: String, mode: Mode) throws -> [(String, JSONValue)] {
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "3"] + mode.simulatorArguments)
        defer { sim.stop() }
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?replicaSet=rs0&serverSelectionTimeoutMS=30000" + sim.clientOptions)
        defer { pool.close() }
        let client = try pool.pop()
        defer { pool.push(client) }
        try waitFor(pool.topology, seconds: 30) { t in
            t.servers.count == 3 && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
        }
        let oldPrimary = try client.selectServer(for: .write).address
        let idleSeconds = 0.5 + Double.random(in: 0..<10)
        Thread.sleep(forTimeInterval: idleSeconds)
        let start = nowNS()
        try sim.send("stepdown")
        var selections = 0
        while true {
            selections += 1
            if try client.selectServer(for: .write).address != oldPrimary { break }
            guard ms(since: start) < 30_000 else { throw Failure(description: "no new primary selected 30 s after the stepdown") }
        }
        let newPrimaryMS = ms(since: start)
        return [("mode", .string(mode.rawValue)), ("idleS", num(idleSeconds)), ("newPrimaryMS", num(newPrimaryMS)),
                ("selections", .number("\(selections)"))]
    }

    /// N mongos listed as seeds (over one simulator per 5,000): when all are known; then, over
    /// a window, what monitoring costs (and what the simulators spent meanwhile, on the same
    /// cores) and how well it keeps the configured rhythm. A check is a heartbeat that
    /// succeeded, polled or (streaming) awaited; timer lag is measured on polled checks only.
    static func mongos(sdam: String, count: Int, heartbeatMS: Int, windowSeconds: Double, mode: Mode) throws -> [(String, JSONValue)] {
        OpenFileLimit.raiseToHardLimit()
        // A polling monitor holds one connection per server; a streaming one adds an RTT
        // connection. Refused here rather than measured as servers that never become known.
        let needed = (mode == .stream ? 2 : 1) * count + 100
        guard needed <= ProcessUsage.descriptorLimit() else {
            throw Failure(description: "\(count) mongos \(mode.rawValue)ing take about \(needed) descriptors; this process may open \(ProcessUsage.descriptorLimit())")
        }
        let sim = try MongosSimulators(sdam: sdam, count: count, arguments: mode.simulatorArguments)
        defer { sim.stop() }
        let log = CheckLog(heartbeatMS: heartbeatMS)
        let events = EventPublisher()
        events.addTimedHandler { log.record($0, at: $1) }
        let baseThreads = ProcessUsage.threads()
        let baseRSS = ProcessUsage.residentMiB()
        let baseDescriptors = ProcessUsage.openDescriptors()
        let start = nowNS()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?heartbeatFrequencyMS=\(heartbeatMS)" + sim.clientOptions, events: events)
        defer { pool.close() }
        try waitFor(pool.topology, seconds: 120) { t in
            t.servers.count == count && t.servers.values.allSatisfy { $0.type == .mongos }
        }
        let knownMS = ms(since: start)
        events.flush()
        log.startWindow()
        let cpu0 = ProcessUsage.cpuSeconds(), simulatorCPU0 = sim.cpuSeconds
        let loop0 = ProcessUsage.schedule(thread: "sdam-monitor"), simulators0 = sim.schedule
        let w0 = nowNS()
        Thread.sleep(forTimeInterval: windowSeconds)
        let cpu1 = ProcessUsage.cpuSeconds(), simulatorCPU1 = sim.cpuSeconds
        let loop1 = ProcessUsage.schedule(thread: "sdam-monitor"), simulators1 = sim.schedule
        let window = Double(nowNS() - w0) / 1e9
        let threads = ProcessUsage.threads()
        let rss = ProcessUsage.residentMiB()
        let descriptors = ProcessUsage.openDescriptors()
        events.flush()
        /// Percent of the window that a thread (or the simulators' threads together) spent.
        func percent(_ ns: UInt64) -> JSONValue { num(Double(ns) / 1e9 / window * 100) }
        let state = log.state.withLock { $0 }
        let perServer = pool.topology.description.servers.keys.map { address in
            checksPerMinute(state.successes[address])
        }
        let lags = state.starts.values.flatMap { starts in
            zip(starts.dropFirst(), starts).map { Double($0 &- $1) / 1e6 - Double(heartbeatMS) }
        }
        return [
            ("count", .number("\(count)")), ("heartbeatMS", .number("\(heartbeatMS)")), ("windowS", num(window)),
            ("knownMS", num(knownMS)), ("threads", .number("\(threads)")), ("baseThreads", .number("\(baseThreads)")),
            ("rssMiB", num(rss)), ("baseRssMiB", num(baseRSS)),
            ("descriptors", .number("\(descriptors)")), ("baseDescriptors", .number("\(baseDescriptors)")),
            ("cpuSecPerMin", num((cpu1 - cpu0) / window * 60)),
            ("simulators", .number("\(sim.processes.count)")),
            ("simulatorCpuSecPerMin", num((simulatorCPU1 - simulatorCPU0) / window * 60)),
            ("loopRunningPct", percent(loop1.runNS &- loop0.runNS)), ("loopWaitingForCorePct", percent(loop1.waitNS &- loop0.waitNS)),
            ("simulatorsRunningPct", percent(simulators1.runNS &- simulators0.runNS)),
            ("simulatorsWaitingForCorePct", percent(simulators1.waitNS &- simulators0.waitNS)),
            ("checksPerServerPerMin", num(percentile(perServer, 50) ?? 0)),
            ("configuredPerMin", num(60_000 / Double(heartbeatMS))),
            ("lagP50MS", num(percentile(lags, 50) ?? -1)), ("lagP99MS", num(percentile(lags, 99) ?? -1)),
            ("checkP50MS", num(percentile(state.durationsMS, 50) ?? -1)),
            ("checkP99MS", num(percentile(state.durationsMS, 99) ?? -1)),
            ("lateP50MS", num(percentile(state.waitsAfterSuccessMS, 50) ?? -1)),
            ("lateP99MS", num(percentile(state.waitsAfterSuccessMS, 99) ?? -1)),
        ]
    }

    /// N mongos listed as seeds, with a listener that keeps every event it receives (as an
    /// application recording its monitoring would): when all are known by the topology, when
    /// the listener has received the last of those events, how many events it holds, and the
    /// memory they take.
    static func mongosListener(sdam: String, count: Int) throws -> [(String, JSONValue)] {
        OpenFileLimit.raiseToHardLimit()
        let sim = try MongosSimulators(sdam: sdam, count: count, arguments: [])
        defer { sim.stop() }
        // The listener keeps every event, and counts the mongos it has seen become known (O(1)
        // an event), so that the harness learns "all known" without walking the map after
        // every change — a walk that took a tenth of a core from the loop and the simulators.
        struct Kept {
            var events: [MonitoringEvent] = []
            var known: Set<ServerAddress> = []
            var allKnownNS: UInt64?
        }
        let kept = ConditionLock(Kept())
        let events = EventPublisher()
        events.addTimedHandler { event, ns in
            let done = kept.withLock { k -> Bool in
                k.events.append(event)
                if case .sdam(.serverDescriptionChanged(let address, _, let new)) = event, new.type == .mongos {
                    k.known.insert(address)
                    if k.known.count == count, k.allKnownNS == nil { k.allKnownNS = ns }
                }
                return k.allKnownNS != nil
            }
            if done { kept.broadcast() }
        }
        let baseRSS = ProcessUsage.residentMiB()
        let start = nowNS()
        let pool = try ClientPool(uri: "mongodb://\(sim.addresses.joined(separator: ","))/?heartbeatFrequencyMS=10000" + sim.clientOptions, events: events)
        defer { pool.close() }
        guard let allKnownNS = kept.wait(until: start + 120_000_000_000, { $0.allKnownNS }) else {
            throw Failure(description: "not every mongos was reported known within 120 s")
        }
        // When the harness's thread learned it from the listener (the event that completed the
        // set had been delivered by then; later events may still be queued).
        let deliveredMS = ms(since: start)
        let topology = pool.topology.description
        guard topology.servers.count == count, topology.servers.values.allSatisfy({ $0.type == .mongos }) else {
            throw Failure(description: "the events said every mongos was known, the topology did not")
        }
        events.flush()
        let held = kept.withLock { $0.events.count }
        let rss = ProcessUsage.residentMiB()
        return [("count", .number("\(count)")), ("knownMS", num(Double(allKnownNS &- start) / 1e6)), ("deliveredMS", num(deliveredMS)),
                ("eventsKept", .number("\(held)")), ("rssMiB", num(rss)), ("baseRssMiB", num(baseRSS))]
    }

    /// A server's achieved check rate: its successes in the window over the time from its last
    /// success before the window (every server has one: the window opens once all are known)
    /// to its last in the window. A plain count over a 20 s window would read a 10 s heartbeat
    /// as 3 or 6 per minute by phase alone. The peers' programs compute it the same way.
    static func checksPerMinute(_ successes: (count: Int, first: UInt64, last: UInt64)?) -> Double {
        guard let successes, successes.count >= 2, successes.last > successes.first else { return 0 }
        return Double(successes.count - 1) / (Double(successes.last - successes.first) / 1e9) * 60
    }

    static func num(_ value: Double) -> JSONValue { .number(String(format: "%.3f", value)) }
}
