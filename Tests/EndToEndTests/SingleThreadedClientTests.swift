import Foundation
import MongoSimulator
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoClientPool
import TestSupport
import Testing

/// The single-threaded client against the simulator: no thread but the caller's, discovery in
/// one scan, the crisis rules (500 ms rescans with serverSelectionTryOnce=false, one scan and a
/// clear error with the default), a scan bounded by connectTimeoutMS, one connection per server.
@Suite struct SingleThreadedClientTests {
    static func replicaSet(members: Int, electionDelayMS: Int = 0) throws -> MongoSimulator {
        try Deployment.replicaSet(members: members, electionDelayMS: electionDelayMS, thread: "st-sim")
    }

    static func secondary(of sim: MongoSimulator) throws -> String {
        let primary = try #require(try sim.replicaSetState()?.primary)
        return try #require(sim.addresses.first { $0 != primary })
    }

    @Test("a process that uses only the single-threaded client runs no thread but the caller's")
    func noThreadButTheCallers() throws {
        let sim = try Self.replicaSet(members: 3)
        defer { sim.stop() }
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let probe = me.deletingLastPathComponent().appendingPathComponent("SingleThreadedProbe")
        try #require(FileManager.default.isExecutableFile(atPath: probe.path), "SingleThreadedProbe is not built at \(probe.path)")
        let process = Process()
        process.executableURL = probe
        process.arguments = ["mongodb://\(try Self.secondary(of: sim))/?replicaSet=rs0&connectTimeoutMS=2000"]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let json = try JSONParser.parse(String(decoding: data, as: UTF8.self))
        #expect(process.terminationStatus == 0)
        #expect(json["error"] == nil, "the probe's operations failed: \(json)")
        #expect(json["maxThreads"]?.doubleValue == 1, "threads seen: \(json["threadNames"].map { "\($0)" } ?? "?")")
        #expect(json["servers"]?.doubleValue == 3)
    }

    @Test("one secondary as the only seed: the whole set is known after one scan, new members included")
    func discoveryInOneScan() throws {
        let sim = try Self.replicaSet(members: 5)
        defer { sim.stop() }
        let client = try SingleThreadedClient(uri: "mongodb://\(try Self.secondary(of: sim))/?replicaSet=rs0")
        defer { client.close() }
        let start = MonotonicClock.nanoseconds()
        let primary = try client.selectServer(for: .write)
        print("figure: single-threaded discovery of 5 members from one secondary: \(Deployment.elapsedMS(since: start)) ms")
        #expect(primary.type == .rsPrimary)
        let scan = try #require(client.lastScan)
        #expect(scan.number == 1 && scan.reason == .initial)
        #expect(scan.checks.count == 5, "\(scan.summary)")
        #expect(scan.checks.filter(\.joined).count == 4, "the four members the seed named joined during the scan")
        #expect(Deployment.settled(client.topology.description), "\(client.topology.description.sortedServers.map { "\($0.address) \($0.type)" })")
    }

    @Test("monitoring and commands share one connection per server")
    func oneConnectionPerServer() throws {
        let sim = try Self.replicaSet(members: 3)
        defer { sim.stop() }
        let client = try SingleThreadedClient(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=500")
        defer { client.close() }
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 1]]], database: "db")
        for _ in 0..<3 {
            _ = try client.runCommand(["find": "t"], database: "db", readPreference: .secondary)
            _ = try client.runCommand(["ping": 1], database: "admin", readPreference: .nearest)
            usleep(600_000)   // past the heartbeat: the next operation scans again, on the same connections
        }
        _ = try client.runCommand(["ping": 1], database: "admin")
        #expect((client.lastScan?.number ?? 0) >= 3)
        for address in sim.addresses {
            let stats = try #require(sim.statistics(for: address))
            #expect(stats.connectionsAccepted == 1 && stats.openConnections == 1, "\(address): \(stats)")
            #expect(stats.hellosReceived >= 3, "\(address) was checked in every scan: \(stats)")
        }
    }

    @Test("after the primary dies, serverSelectionTryOnce=false makes the next write scan every 500 ms until a new primary, then it succeeds")
    func failoverWithoutTryOnce() throws {
        let electionMS = 1_500
        let sim = try Self.replicaSet(members: 3, electionDelayMS: electionMS)
        defer { sim.stop() }
        let client = try SingleThreadedClient(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&serverSelectionTryOnce=false&connectTimeoutMS=2000")
        defer { client.close() }
        let scans = ConditionLock<[ScanReport]>([])
        client.addScanHandler { report in scans.withLock { $0.append(report) } }
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 1]]], database: "db")
        let oldPrimary = try #require(Deployment.primary(of: client.topology.description))
        let scansBefore = scans.withLock { $0.count }
        try sim.kill(oldPrimary.description)
        let killed = MonotonicClock.nanoseconds()
        usleep(50_000)   // the connection's FIN has arrived: the write sees the primary gone before it sends
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 2]]], database: "db")
        let tookMS = Deployment.elapsedMS(since: killed)
        print("figure: single-threaded write after the primary died, serverSelectionTryOnce=false, election \(electionMS) ms: succeeded after \(tookMS) ms")
        let newPrimary = try #require(Deployment.primary(of: client.topology.description))
        #expect(newPrimary != oldPrimary)
        #expect(tookMS >= Double(electionMS) - 60 && tookMS < Double(electionMS) + 1_500, "the write took \(tookMS) ms")
        let during = scans.withLock { Array($0.dropFirst(scansBefore)) }
        #expect(during.count >= 2, "the write scanned while it waited: \(during.map(\.summary))")
        for (previous, next) in zip(during, during.dropFirst()) {
            let gapMS = Double(next.startedNS - previous.startedNS) / 1e6 - previous.durationMS
            #expect(gapMS >= 495 && gapMS < 900, "scans \(previous.number) and \(next.number) are \(gapMS) ms apart")
        }
    }

    @Test("after the primary dies, the default serverSelectionTryOnce=true fails after one scan with an error that says so")
    func failoverWithTryOnce() throws {
        let sim = try Self.replicaSet(members: 3, electionDelayMS: 5_000)
        defer { sim.stop() }
        let client = try SingleThreadedClient(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0")
        defer { client.close() }
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 1]]], database: "db")
        let oldPrimary = try #require(Deployment.primary(of: client.topology.description))
        let scansBefore = client.lastScan?.number ?? 0
        try sim.kill(oldPrimary.description)
        usleep(50_000)
        let start = MonotonicClock.nanoseconds()
        let caught: ClientPoolError
        do {
            _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 2]]], database: "db")
            Issue.record("the write succeeded with no primary")
            return
        } catch {
            caught = error
        }
        let tookMS = Deployment.elapsedMS(since: start)
        guard case .serverSelectionTimeout(let failure) = caught else {
            Issue.record("expected a selection error, got \(caught)")
            return
        }
        #expect(failure.triedOnce)
        #expect(caught.description.contains("after one scan (serverSelectionTryOnce=true"), "\(caught)")
        #expect((client.lastScan?.number ?? 0) == scansBefore + 1, "exactly one scan")
        #expect(tookMS < 2_000, "failed after \(tookMS) ms, not serverSelectionTimeoutMS")
    }

    @Test("a hung member makes a scan last connectTimeoutMS, not more, and two hung members not the sum")
    func hungMembersBoundTheScanByConnectTimeout() throws {
        let sim = try Self.replicaSet(members: 5)
        defer { sim.stop() }
        let connectTimeoutMS = 1_000.0
        let client = try SingleThreadedClient(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=500&connectTimeoutMS=1000")
        defer { client.close() }
        _ = try client.runCommand(["ping": 1], database: "admin")
        let secondaries = sim.addresses.filter { $0 != Deployment.primary(of: client.topology.description)?.description }
        try sim.hang(secondaries[0])
        try sim.hang(secondaries[1])
        usleep(600_000)   // the heartbeat is due: the next operation scans
        _ = try client.runCommand(["ping": 1], database: "admin")
        let scan = try #require(client.lastScan)
        print("figure: single-threaded scan of 5 members with 2 hung, connectTimeoutMS 1000: \(scan.durationMS) ms")
        #expect(scan.number == 2)
        #expect(scan.durationMS >= connectTimeoutMS - 5 && scan.durationMS < connectTimeoutMS + 700, "\(scan.summary)")
        let timedOut = scan.checks.filter { $0.type == .unknown }.map(\.address.description)
        #expect(Set(timedOut) == Set(secondaries.prefix(2)), "\(scan.summary)")
        // The next scan skips them for cooldownMS rather than waiting again.
        usleep(600_000)
        _ = try client.runCommand(["ping": 1], database: "admin")
        let next = try #require(client.lastScan)
        #expect(next.number == 3 && Set(next.coolingDown.map(\.description)) == Set(secondaries.prefix(2)), "\(next.summary)")
        #expect(next.durationMS < 500, "\(next.summary)")
    }

    @Test("events are delivered on the caller's thread when an operation ends, in order, with the scan reports among them")
    func eventsOnTheCallersThread() throws {
        let sim = try Self.replicaSet(members: 3)
        defer { sim.stop() }
        let caller = pthread_self()
        let seen = ConditionLock<[String]>([])
        let events = EventPublisher(delivery: .onDeliverPending)
        events.addHandler { event in
            let here = pthread_equal(pthread_self(), caller) != 0
            seen.withLock { $0.append(here ? event.name : "elsewhere:\(event.name)") }
        }
        let client = try SingleThreadedClient(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0", events: events)
        client.addScanHandler { report in seen.withLock { $0.append("scan \(report.number)") } }
        _ = try client.runCommand(["ping": 1], database: "admin")
        let names = seen.withLock { $0 }
        #expect(!names.contains { $0.hasPrefix("elsewhere") })
        #expect(names.first == "topologyOpeningEvent" || names.first == "topologyOpening", "\(names)")
        let scanIndex = try #require(names.firstIndex(of: "scan 1"))
        #expect(names[..<scanIndex].filter { $0.contains("HeartbeatSucceeded") }.count == 3, "the scan's three checks come before its report: \(names)")
        client.close()
        #expect(seen.withLock { $0 }.last?.contains("topologyClosed") == true)
    }

    @Test("with credentials the one connection per server authenticates once, and a wrong password fails the operation")
    func authenticationOnTheSharedConnection() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), threadName: "st-auth",
                                                            users: [.scram("alice", password: "s3cret")]))
        defer { sim.stop() }
        let client = try SingleThreadedClient(uri: "mongodb://alice:s3cret@\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=500")
        defer { client.close() }
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 1]]], database: "db")
        usleep(600_000)
        _ = try client.runWriteCommand(["insert": "t", "documents": [["x": 2]]], database: "db")
        let primary = try #require(Deployment.primary(of: client.topology.description))
        let stats = try #require(sim.statistics(for: primary.description))
        #expect(stats.connectionsAccepted == 1 && stats.authenticatedConnections == 1, "\(stats)")
        #expect(stats.authenticationCommandsReceived == 1, "the speculative conversation went on with one saslContinue: \(stats)")

        let wrong = try SingleThreadedClient(uri: "mongodb://alice:wrong@\(sim.addresses[0])/?replicaSet=rs0")
        defer { wrong.close() }
        do {
            _ = try wrong.runWriteCommand(["insert": "t", "documents": [["x": 3]]], database: "db")
            Issue.record("a wrong password was accepted")
        } catch {
            guard case .authenticationFailed(let failure) = error else {
                Issue.record("expected authenticationFailed, got \(error)")
                return
            }
            #expect(failure.username == "alice" && !"\(error)".contains("wrong"), "\(error)")
        }
    }
}
