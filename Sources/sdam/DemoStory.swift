import MongoClientPool
import Foundation
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The story of the seed documents, told by a real `ClientPool` against a simulated
/// three-member replica set on loopback, with the times measured as it happens: startup,
/// discovery from one seed, steady state, crisis (the primary dies), resolution.
///
/// The story runs on the caller's thread; `emit` receives each step as soon as its time is
/// known. Steps that happen together (discovery's milestones, the crisis) are emitted in the
/// order they happened.
struct DemoStory {
    /// heartbeatFrequencyMS; the default 10 s would make the story a minute long.
    var heartbeatMS = 1_000
    /// How long the set takes to elect a new primary after the old one dies.
    var electionDelayMS = 2_000
    /// How long the steady state and the relaxed rhythm are watched.
    var windowSeconds = 3.5

    /// Why the story could not go on: something it waits for did not happen in time.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static let members = 3
    private static let selectionTimeoutMS = 15_000

    func run(emit: (DemoStep) -> Void) throws {
        let start = MonotonicClock.nanoseconds()
        func ms(_ ns: UInt64) -> Double { Double(Int64(bitPattern: ns &- start)) / 1e6 }
        func now() -> UInt64 { MonotonicClock.nanoseconds() }
        func step(_ ns: UInt64, _ phase: DemoStep.Phase, _ name: String, _ message: String,
                  _ fields: [(String, JSONValue)] = []) -> DemoStep {
            DemoStep(tMS: ms(ns), phase: phase, name: name, message: message, fields: fields)
        }
        func emitInOrder(_ steps: [DemoStep]) {
            for s in steps.sorted(by: { $0.tMS < $1.tMS }) { emit(s) }
        }

        // MARK: Setup
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .replicaSet(name: "rs0", members: Self.members), electionDelayMS: electionDelayMS, threadName: "demo-sim"))
        defer { sim.stop() }
        guard let oldPrimaryText = try sim.replicaSetState()?.primary,
              let oldPrimary = ServerAddress(oldPrimaryText),
              let seedText = sim.addresses.first(where: { $0 != oldPrimaryText }) else {
            throw Failure(description: "the simulated replica set started without a primary")
        }
        let uri = "mongodb://\(seedText)/?replicaSet=rs0&heartbeatFrequencyMS=\(heartbeatMS)"
            + "&serverSelectionTimeoutMS=\(Self.selectionTimeoutMS)"
        emit(step(now(), .setup, "replicaSetStarted",
                  "simulated replica set rs0 on loopback: \(oldPrimaryText) primary, the others secondaries; "
                  + "election delay \(electionDelayMS) ms; heartbeatFrequencyMS=\(heartbeatMS) (default 10000; shortened so the demo is brief)",
                  [("members", .array(sim.addresses.map { .string($0) })), ("primary", .string(oldPrimaryText)),
                   ("electionDelayMS", .integer(electionDelayMS)), ("heartbeatFrequencyMS", .integer(heartbeatMS)),
                   ("uri", .string(uri))]))

        // MARK: Startup
        let recorder = DemoRecorder()
        let events = EventPublisher()
        events.addTimedHandler { recorder.record($0, at: $1) }
        let constructStart = now()
        let pool = try ClientPool(uri: uri, events: events)
        let constructEnd = now()
        let atReturn = pool.topology.description
        let constructMS = Double(constructEnd - constructStart) / 1e6
        emit(step(constructEnd, .startup, "poolCreated",
                  String(format: "ClientPool(uri:) returned in %.2f ms with no network I/O on the caller's thread; ", constructMS)
                  + "the topology was then \(atReturn.type.rawValue), seed \(seedText) (a secondary) "
                  + "\(atReturn.servers.values.first?.type.rawValue ?? "absent"); the monitor thread discovers the rest",
                  [("constructionMS", .milliseconds(constructMS)), ("topologyTypeAtReturn", .string(atReturn.type.rawValue)),
                   ("seed", .string(seedText))]))
        var poolOpen = true
        defer { if poolOpen { pool.close() } }

        // MARK: Discovery
        let client = try pool.pop()
        let selectStart = now()
        let readServer = try client.selectServer(for: .read(.secondary))
        let selected = now()
        _ = try client.runCommand(["find": .string("orders"), "filter": .document([:])], database: "shop", readPreference: .secondary)
        let readDone = now()
        guard waitFor(pool.topology, seconds: 10, { Self.allMembersKnown($0) }) != nil else {
            throw Failure(description: "the pool did not know all \(Self.members) members within 10 s")
        }
        events.flush()
        // When the read could proceed: the first description with a secondary, by its event's
        // time — the waiting thread wakes a little later, and on a loaded machine after the
        // primary's check (0.3 ms behind the seed's) has already been applied.
        let secondaryNS = recorder.firstTime { $0.servers.values.contains { $0.type == .rsSecondary } } ?? selected
        let primaryNS = recorder.firstTime { $0.hasPrimary } ?? now()
        let allNS = recorder.firstTime { Self.allMembersKnown($0) } ?? now()
        emitInOrder([
            step(min(secondaryNS, selected), .discovery, "secondaryReadCouldProceed",
                 String(format: "a read with readPreference secondary, waiting since t=%.1f ms, could proceed on %@ (%@)",
                        ms(selectStart), readServer.address.description, readServer.type.rawValue),
                 [("waitedMS", .milliseconds(Double(selected - selectStart) / 1e6)), ("server", .string(readServer.address.description))]),
            step(readDone, .discovery, "secondaryReadReturned",
                 String(format: "the read returned (%.2f ms on a new connection, handshake included)", Double(readDone - selected) / 1e6)),
            step(primaryNS, .discovery, "primaryFound", "the primary \(oldPrimaryText) was found (the seed's reply named it)",
                 [("primary", .string(oldPrimaryText))]),
            step(allNS, .discovery, "allMembersKnown", "all \(Self.members) members known: ReplicaSetWithPrimary",
                 [("members", .integer(Self.members))]),
        ])

        // MARK: Steady state
        let writeStart = now()
        _ = try client.runWriteCommand(Self.insert(1), database: "shop")
        let writeDone = now()
        emit(step(writeDone, .steady, "writeSucceeded",
                  String(format: "a write on the primary took %.2f ms", Double(writeDone - writeStart) / 1e6),
                  [("durationMS", .milliseconds(Double(writeDone - writeStart) / 1e6))]))
        // The read above may have waited during discovery: its selection asked for immediate
        // checks, which move a server's next check to minHeartbeatFrequencyMS after its last
        // (the server-monitoring spec's requestCheck), also when the wait ended meanwhile. The
        // steady window opens once those have run, so it shows the heartbeat's own rhythm.
        let settled = allNS + UInt64(SDAMDefaults.minHeartbeatFrequency.inMilliseconds + 100) * 1_000_000
        let untilSettled = Double(Int64(bitPattern: settled &- now())) / 1e9
        if untilSettled > 0 { Thread.sleep(forTimeInterval: untilSettled) }
        let steadyStart = now()
        Thread.sleep(forTimeInterval: windowSeconds)
        let steadyEnd = now()
        events.flush()
        let steadyChecks = recorder.checks(from: steadyStart, to: steadyEnd)
        let steadyIntervals = recorder.intervals(from: steadyStart, to: steadyEnd)
        emit(step(steadyEnd, .steady, "checkRhythm",
                  "checks in \(windowSeconds) s: \(Self.counts(steadyChecks, sim.addresses))"
                  + Self.medianText(steadyIntervals, configured: heartbeatMS),
                  Self.rhythmFields(steadyChecks, steadyIntervals, sim.addresses, seconds: Double(steadyEnd - steadyStart) / 1e9, configured: heartbeatMS)))

        // MARK: Crisis
        let killNS = now()
        try sim.kill(oldPrimaryText)
        var crisis: [DemoStep] = [step(killNS, .crisis, "primaryKilled", "the primary \(oldPrimaryText) was killed (listener and connections closed)")]
        // The application writes at once, on the connection it holds to the dead primary.
        let firstStart = now()
        var waitStart = firstStart
        var firstFailed = false
        do {
            _ = try client.runWriteCommand(Self.insert(2), database: "shop")
        } catch {
            firstFailed = true
            let failedNS = now()
            let kind: String
            switch error {
            case .network: kind = "network error"
            case .commandFailed: kind = "command error"
            case .serverSelectionTimeout: kind = "server selection timeout"
            default: kind = "error"
            }
            crisis.append(step(failedNS, .crisis, "writeFailed",
                               String(format: "a write at once failed after %.2f ms with a %@: %@", Double(failedNS - firstStart) / 1e6, kind, error.description),
                               [("errorKind", .string(kind)), ("error", .string(error.description))]))
            waitStart = now()
            crisis.append(step(waitStart, .crisis, "writeWaiting", "the application retries the write: it waits in server selection for a primary"))
            _ = try client.runWriteCommand(Self.insert(3), database: "shop")
        }
        let waitedWriteDone = now()
        if !firstFailed {
            crisis.append(step(firstStart, .crisis, "writeWaiting", "a write at once found no primary: it waits in server selection"))
        }
        events.flush()
        let noticedNS = recorder.firstTime(after: killNS) { $0.servers[oldPrimary]?.type == .unknown } ?? waitedWriteDone
        crisis.append(step(noticedNS, .crisis, "poolNoticed",
                           String(format: "the pool marked %@ Unknown %.1f ms after the kill", oldPrimaryText, Double(noticedNS &- killNS) / 1e6),
                           [("afterKillMS", .milliseconds(Double(noticedNS &- killNS) / 1e6))]))
        let newPrimaryNS = recorder.firstTime(after: killNS) { t in
            t.servers.values.contains { $0.type == .rsPrimary && $0.address != oldPrimary }
        } ?? waitedWriteDone
        let newPrimary = pool.topology.description.servers.values.first { $0.type == .rsPrimary }?.address.description ?? "?"
        let waitChecks = recorder.checks(from: waitStart, to: newPrimaryNS)
        // The first check of the wait follows the steady rhythm's last: leave it out.
        let waitIntervals = recorder.intervals(from: waitStart, to: newPrimaryNS).mapValues { Array($0.dropFirst()) }
        crisis.append(step(newPrimaryNS, .crisis, "checksWhileWaiting",
                           "checks while the write waited (\(Self.msText(newPrimaryNS &- waitStart))): \(Self.counts(waitChecks, sim.addresses))"
                           + Self.medianText(waitIntervals, configured: Int(SDAMDefaults.minHeartbeatFrequency.inMilliseconds)),
                           Self.rhythmFields(waitChecks, waitIntervals, sim.addresses, seconds: Double(newPrimaryNS &- waitStart) / 1e9,
                                             configured: Int(SDAMDefaults.minHeartbeatFrequency.inMilliseconds))))
        emitInOrder(crisis)

        // MARK: Resolution
        emitInOrder([
            step(newPrimaryNS, .resolution, "newPrimary",
                 String(format: "new primary %@ known %.1f ms after the kill (election delay %d ms)",
                        newPrimary, Double(newPrimaryNS - killNS) / 1e6, electionDelayMS),
                 [("primary", .string(newPrimary)), ("afterKillMS", .milliseconds(Double(newPrimaryNS - killNS) / 1e6))]),
            step(waitedWriteDone, .resolution, "waitingWriteSucceeded",
                 String(format: "the waiting write succeeded %.2f ms after the new primary was known (it waited %.1f ms)",
                        Double(Int64(bitPattern: waitedWriteDone &- newPrimaryNS)) / 1e6, Double(waitedWriteDone - waitStart) / 1e6),
                 [("afterNewPrimaryMS", .milliseconds(Double(Int64(bitPattern: waitedWriteDone &- newPrimaryNS)) / 1e6)),
                  ("waitedMS", .milliseconds(Double(waitedWriteDone - waitStart) / 1e6))]),
        ])
        let relaxStart = now()
        Thread.sleep(forTimeInterval: windowSeconds)
        let relaxEnd = now()
        events.flush()
        let relaxChecks = recorder.checks(from: relaxStart, to: relaxEnd)
        let alive = sim.addresses.filter { $0 != oldPrimaryText }
        let relaxIntervals = recorder.intervals(from: relaxStart, to: relaxEnd).filter { alive.contains($0.key.description) }
        emit(step(relaxEnd, .resolution, "checksRelaxed",
                  "checks relaxed back to the heartbeat, in \(windowSeconds) s: \(Self.counts(relaxChecks, sim.addresses)) (\(oldPrimaryText) is down: its checks fail)"
                  + Self.medianText(relaxIntervals, configured: heartbeatMS),
                  Self.rhythmFields(relaxChecks, relaxIntervals, sim.addresses, seconds: Double(relaxEnd - relaxStart) / 1e9, configured: heartbeatMS)))

        // MARK: Cleanup
        pool.push(client)
        let closeStart = now()
        pool.close()
        poolOpen = false
        let closed = now()
        events.flush()
        sim.stop()
        let end = now()
        emit(step(end, .cleanup, "closed",
                  String(format: "pool closed in %.2f ms (monitor thread joined, every socket closed); simulator stopped; the story took %.1f s",
                         Double(closed - closeStart) / 1e6, Double(end - start) / 1e9),
                  [("closeMS", .milliseconds(Double(closed - closeStart) / 1e6))]))
    }

    // MARK: - Helpers

    private static func insert(_ n: Int32) -> BSONDocument {
        ["insert": .string("orders"), "documents": .array([.document(["item": .string("order \(n)"), "qty": .int32(n)])])]
    }

    static func allMembersKnown(_ t: TopologyDescription) -> Bool {
        t.servers.count == members && t.hasPrimary
            && t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary }
    }

    private static func msText(_ ns: UInt64) -> String { String(format: "%.0f ms", Double(ns) / 1e6) }

    /// "127.0.0.1:1 3, 127.0.0.1:2 3, ..." in the simulator's order.
    private static func counts(_ checks: [ServerAddress: [UInt64]], _ addresses: [String]) -> String {
        addresses.map { a in "\(a) \(ServerAddress(a).flatMap { checks[$0]?.count } ?? 0)" }.joined(separator: ", ")
    }

    private static func medianText(_ intervals: [ServerAddress: [Double]], configured: Int) -> String {
        guard let median = demoMedian(intervals.values.flatMap { $0 }) else { return "" }
        return String(format: "; median interval %.0f ms (configured %d ms)", median, configured)
    }

    private static func rhythmFields(
        _ checks: [ServerAddress: [UInt64]], _ intervals: [ServerAddress: [Double]], _ addresses: [String],
        seconds: Double, configured: Int
    ) -> [(String, JSONValue)] {
        let perServer: [(String, JSONValue)] = addresses.map { a in
            (a, .integer(ServerAddress(a).flatMap { checks[$0]?.count } ?? 0))
        }
        var fields: [(String, JSONValue)] = [
            ("checks", .object(perServer)), ("windowMS", .milliseconds(seconds * 1000)), ("configuredIntervalMS", .integer(configured)),
        ]
        if let median = demoMedian(intervals.values.flatMap { $0 }) { fields.append(("medianIntervalMS", .milliseconds(median))) }
        return fields
    }

    /// Waits (at most `seconds`) until the topology satisfies `condition`.
    private func waitFor(_ topology: Topology, seconds: Double, _ condition: (TopologyDescription) -> Bool) -> TopologyDescription? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var snapshot = topology.snapshot
        while !condition(snapshot.description) {
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else { return nil }
            snapshot = next
        }
        return snapshot.description
    }
}
