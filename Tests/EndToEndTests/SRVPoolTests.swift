import Foundation
import Logging
@testable import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// A `mongodb+srv://` pool against simulated mongos routers, its DNS answered in-process: the
/// record lookups by a fake whose answers the test changes (on threads of their own, as the
/// real resolver's), the monitors' address lookups of the targets by one that says 127.0.0.1.
/// That second fake does not reach application connections (they call getaddrinfo), so these
/// tests select servers but run no command; the real resolver against a real DNS server, with
/// commands, runs in the DNS sandbox (`DNSSandboxTests`).
@Suite(.serialized) struct SRVPoolTests {
    /// SRV answers the test sets: records, an NXDOMAIN, or a server that stopped answering.
    final class FakeDNS: Sendable {
        enum Mode: Sendable, Equatable { case answer, nameDoesNotExist, silent }

        struct State {
            var srv: [SRVRecord] = []
            var txt: [TXTRecord] = []
            var mode = Mode.answer
            var lookups = 0
        }

        let state = ConditionLock(State())

        func set(ports: [UInt16], mode: Mode = .answer) {
            state.withLock { s in
                s.srv = ports.enumerated().map { i, port in SRVRecord(port: port, target: "mongos\(i).srv.test", ttl: 1) }
                s.mode = mode
            }
            state.broadcast()
        }

        func set(records: [SRVRecord]) {
            state.withLock { $0.srv = records; $0.mode = .answer }
            state.broadcast()
        }

        func set(mode: Mode) {
            state.withLock { $0.mode = mode }
            state.broadcast()
        }

        var lookups: Int { state.withLock { $0.lookups } }

        func lookUp(_ query: RecordResolver.Query) -> RecordResolver.Outcome {
            state.withLock { $0.lookups += 1 }
            // A silent server: the lookup blocks until the test lets it time out (at most 10 s).
            _ = state.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0.mode == .silent ? nil : true }
            let s = state.withLock { $0 }
            switch s.mode {
            case .nameDoesNotExist, .silent:
                let reason: DNSLookupError.Reason = s.mode == .silent ? .timedOut : .nameDoesNotExist
                return .failure(DNSLookupError(type: .srv, name: query.srvName, reason: reason))
            case .answer:
                return .success(RecordResolver.Answer(srv: s.srv, txt: query.txtName == nil ? [] : s.txt))
            }
        }
    }

    static let uri = "mongodb+srv://cluster.srv.test/?tls=false&heartbeatFrequencyMS=500&serverSelectionTimeoutMS=2000"

    static func pool(_ dns: FakeDNS, uri: String = SRVPoolTests.uri, rescanFloor: Duration = .milliseconds(300),
                     thread: String, events: EventPublisher = EventPublisher()) throws -> ClientPool {
        let loopback = BoundedResolver(maxInFlight: 4) { _, port in .success([ResolvedAddress(ipLiteral: "127.0.0.1", port: port)!]) }
        let records = RecordResolver(lookup: { dns.lookUp($0) })
        return try ClientPool(uri: uri, logger: Logger(label: "srv-test"), events: events,
                              resolvers: ClientPool.Resolvers(addresses: loopback, records: records)) { settings in
            settings.monitoring.threadName = thread
            settings.topology.srv?.minimumRescanInterval = rescanFloor
        }
    }

    static func ports(_ sim: MongoSimulator) -> [UInt16] {
        sim.addresses.compactMap { ServerAddress($0)?.port }
    }

    static func waitFor(_ topology: Topology, seconds: Double = 5, _ condition: (TopologyDescription) -> Bool) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var snapshot = topology.snapshot
        while !condition(snapshot.description) {
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else { return false }
            snapshot = next
        }
        return true
    }

    static func address(_ index: Int, _ port: UInt16) -> ServerAddress { ServerAddress(host: "mongos\(index).srv.test", port: port) }

    /// Heartbeat starts per server, with the monotonic time they were published.
    final class Heartbeats: Sendable {
        let starts = ConditionLock<[ServerAddress: [UInt64]]>([:])
        let srvLines = ConditionLock<[String]>([])

        func attach(to events: EventPublisher) {
            events.addTimedHandler { [self] event, ns in
                switch event {
                case .serverHeartbeatStarted(let address, _): starts.withLock { $0[address, default: []].append(ns) }
                case .srv(let srv): srvLines.withLock { $0.append(srv.humanLine) }
                default: break
                }
            }
        }

        func count(_ address: ServerAddress) -> Int { starts.withLock { $0[address]?.count ?? 0 } }

        /// How late each check started against the heartbeat (interval minus heartbeat), in
        /// milliseconds, for checks that started within `window`.
        func lags(heartbeatMS: Double, window: ClosedRange<UInt64>) -> [Double] {
            starts.withLock { all in
                all.values.flatMap { times -> [Double] in
                    zip(times, times.dropFirst()).filter { window.contains($0.1) }.map { Double($0.1 &- $0.0) / 1e6 - heartbeatMS }
                }
            }
        }
    }

    @Test("records change while the pool runs: an added mongos is checked within one rescan, a removed one no more")
    func recordsChange() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 3), threadName: "srv-sim"))
        defer { sim.stop() }
        let ports = Self.ports(sim)
        let dns = FakeDNS()
        dns.set(ports: [ports[0], ports[1]])
        let events = EventPublisher()
        let heartbeats = Heartbeats()
        heartbeats.attach(to: events)
        let created = MonotonicClock.nanoseconds()
        let pool = try Self.pool(dns, thread: "srv-change", events: events)
        defer { pool.close() }
        #expect(secondsSince(created) < 0.1, "creating the pool waited for DNS")
        // Selection waits for the lookup like for any discovery. (No command: an application
        // connection resolves its server with getaddrinfo, which these made-up names fail; the
        // DNS sandbox's tests run commands.)
        let selected = try pool.withClient { try $0.selectServer(for: .read(.primary)) }
        #expect(selected.type == .mongos)
        let first = [Self.address(0, ports[0]), Self.address(1, ports[1])]
        #expect(Self.waitFor(pool.topology) { Set($0.servers.keys) == Set(first) && $0.type == .sharded })
        #expect(pool.settings.topology.seeds.count == 2, "the pool's settings carry the seeds DNS gave")

        // Added: mongos2 is checked within one rescan (300 ms after the last lookup ended).
        dns.set(records: [SRVRecord(port: ports[0], target: "mongos0.srv.test", ttl: 1),
                          SRVRecord(port: ports[1], target: "mongos1.srv.test", ttl: 1),
                          SRVRecord(port: ports[2], target: "mongos2.srv.test", ttl: 1)])
        let added = Self.address(2, ports[2])
        let changedAt = MonotonicClock.nanoseconds()
        #expect(Self.waitFor(pool.topology) { $0.servers[added]?.type == .mongos })
        let addedAfter = secondsSince(changedAt)
        print("figure: SRV record added -> new mongos checked and known in \(String(format: "%.0f", addedAfter * 1000)) ms (rescan floor 300 ms, TTL 1 s)")
        #expect(addedAfter < 1.5, "took \(addedAfter) s")

        // Removed: mongos1 leaves and is checked no more.
        let removed = Self.address(1, ports[1])
        dns.set(records: [SRVRecord(port: ports[0], target: "mongos0.srv.test", ttl: 1),
                          SRVRecord(port: ports[2], target: "mongos2.srv.test", ttl: 1)])
        #expect(Self.waitFor(pool.topology) { $0.servers[removed] == nil && $0.servers.count == 2 })
        events.flush()
        let checksAtRemoval = heartbeats.count(removed)
        let hellosAtRemoval = sim.statistics(for: sim.addresses[1])?.hellosReceived ?? 0
        Thread.sleep(forTimeInterval: 1.5)
        events.flush()
        #expect(heartbeats.count(removed) == checksAtRemoval, "a removed mongos was still checked")
        #expect(sim.statistics(for: sim.addresses[1])?.hellosReceived == hellosAtRemoval)
        #expect(heartbeats.count(added) >= 3, "the added mongos is checked on its heartbeat")
        let lines = heartbeats.srvLines.withLock { $0 }
        #expect(lines.contains { $0.contains("(rescan)") && $0.contains("added [mongos2.srv.test:\(ports[2])]") }, "\(lines)")
        #expect(lines.contains { $0.contains("removed [mongos1.srv.test:\(ports[1])]") }, "\(lines)")
    }

    @Test("a failed lookup: selection waits and its timeout names the failure; DNS is retried at the heartbeat")
    func failedLookupSurfacesInTheTimeout() throws {
        let dns = FakeDNS()
        dns.set(mode: .nameDoesNotExist)
        let pool = try Self.pool(dns, uri: Self.uri.replacingOccurrences(of: "2000", with: "1200"), thread: "srv-nx")
        defer { pool.close() }
        let start = MonotonicClock.nanoseconds()
        let error = #expect(throws: ClientPoolError.self) {
            try pool.withClient { _ = try $0.runCommand(["ping": .int32(1)], database: "admin") }
        }
        #expect(secondsSince(start) >= 1.1)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("SRV lookup of _mongodb._tcp.cluster.srv.test failed: NXDOMAIN"), "\(text)")
        #expect(text.contains("server selection for"), "\(text)")
    }

    @Test("an invalid answer fails waiting operations at once, not after serverSelectionTimeoutMS")
    func invalidAnswerFailsAtOnce() throws {
        let dns = FakeDNS()
        dns.set(records: [SRVRecord(port: 27017, target: "mongos0.evil.test")])
        let pool = try Self.pool(dns, thread: "srv-invalid")
        defer { pool.close() }
        let start = MonotonicClock.nanoseconds()
        let error = #expect(throws: ClientPoolError.self) {
            try pool.withClient { _ = try $0.runCommand(["ping": .int32(1)], database: "admin") }
        }
        #expect(secondsSince(start) < 1.0, "waited \(secondsSince(start)) s")
        guard case .invalidSeedlist(let seedlistError)? = error else {
            Issue.record("expected invalidSeedlist, got \(String(describing: error))")
            return
        }
        #expect("\(seedlistError)".contains("'mongos0.evil.test' is not in the parent domain 'srv.test'"))
    }

    @Test("while DNS stops answering, checks on open monitoring connections keep their rhythm")
    func silentDNSKeepsTheRhythm() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 2), threadName: "srv-sim-quiet"))
        defer { sim.stop() }
        let ports = Self.ports(sim)
        let dns = FakeDNS()
        dns.set(ports: ports)
        let events = EventPublisher()
        let heartbeats = Heartbeats()
        heartbeats.attach(to: events)
        let pool = try Self.pool(dns, thread: "srv-quiet", events: events)
        defer { pool.close() }
        #expect(Self.waitFor(pool.topology) { $0.servers.count == 2 && $0.servers.values.allSatisfy { $0.type == .mongos } })
        let answering = MonotonicClock.nanoseconds()
        Thread.sleep(forTimeInterval: 3)
        let silent = MonotonicClock.nanoseconds()
        let lookupsBefore = dns.lookups
        dns.set(mode: .silent)
        Thread.sleep(forTimeInterval: 3)
        let end = MonotonicClock.nanoseconds()
        events.flush()
        let before = heartbeats.lags(heartbeatMS: 500, window: answering...silent).sorted()
        let during = heartbeats.lags(heartbeatMS: 500, window: (silent + 1)...end).sorted()
        // A rescan is due within the records' TTL; under a sanitizer's slowdown it may fall
        // after the 3 s window, so wait for it (bounded) while DNS is still silent.
        let rescanDeadline = MonotonicClock.nanoseconds() + 10_000_000_000
        while dns.lookups <= lookupsBefore, MonotonicClock.nanoseconds() < rescanDeadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        let lookupsWhileSilent = dns.lookups
        dns.set(mode: .answer)
        func p99(_ values: [Double]) -> Double { values.isEmpty ? .infinity : values[min(values.count - 1, Int(Double(values.count) * 0.99))] }
        print("figure: timer lag p99 with DNS answering \(String(format: "%.1f", p99(before))) ms (\(before.count) checks), with DNS silent \(String(format: "%.1f", p99(during))) ms (\(during.count) checks)")
        #expect(during.count >= 8 && before.count >= 8, "checks went on: \(before.count) then \(during.count)")
        #expect(p99(during) < max(p99(before), 0) + 50, "p99 lag \(p99(before)) ms, then \(p99(during)) ms with DNS silent")
        #expect(lookupsWhileSilent > lookupsBefore, "a rescan was attempted while DNS was silent")
        #expect(pool.topology.description.servers.count == 2, "a silent DNS changes nothing")
    }
}

private func secondsSince(_ start: UInt64) -> Double {
    Double(MonotonicClock.nanoseconds() &- start) / 1e9
}
