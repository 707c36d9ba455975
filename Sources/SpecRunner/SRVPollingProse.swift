import Foundation
import Logging
import MongoBSON
import SDAMCore
import MongoClientPool
import MongoSimulator
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// The polling-srv-records-for-mongos-discovery spec's prose tests, against the tests' DNS
/// server inside the DNS sandbox and simulated mongos on localhost 27017-27020 (over TLS): a
/// pool on test1 (test3, test22) whose records the server changes while it runs.
///
/// Only tests lower rescanSRVIntervalMS's 60 s floor (`SRVSeedlist.minimumRescanInterval`,
/// package-only): here to 500 ms, and the records carry a TTL of 1 s instead of the README's
/// 86400, so a rescan comes every second and "2*rescanSRVIntervalMS" is 2 s. One case of our
/// own checks the TTL rule itself: records of TTL 3 s are rescanned after 3 s, not 1 s.
public enum SRVPollingProse {
    static let floor: Duration = .milliseconds(500)
    static let ttl: UInt32 = 1
    static let host = DNSZone.testHost + "."

    static func srv(_ test: String, _ ports: [UInt16], service: String = "mongodb", ttl: UInt32 = SRVPollingProse.ttl) -> [DNSZone.Record] {
        ports.map { .srv("_\(service)._tcp.\(test).test.build.10gen.cc", port: $0, target: host, ttl: ttl) }
    }

    /// The README's starting point: test1 (27017, 27018), test3 (27017), test22 (customname,
    /// 27017), and the target's address.
    static var startingZone: DNSZone {
        DNSZone(records: [.a(DNSZone.testHost)] + srv("test1", [27017, 27018]) + srv("test3", [27017])
            + srv("test22", [27017], service: "customname"))
    }

    static func address(_ port: UInt16) -> String { "\(DNSZone.testHost):\(port)" }

    /// One scenario: the URI, the records to serve once the pool knows its first hosts, and
    /// the hosts expected after two rescans (nil: as before).
    struct Scenario {
        var name: String
        var uri: String = "mongodb+srv://test1.test.build.10gen.cc/?heartbeatFrequencyMS=500"
        var change: (DNSZone) -> DNSZone
        var expected: Set<String>?
        /// Some host of the expected count is random (srvMaxHosts): check these and the count.
        var mustInclude: Set<String> = []
        var count: Int?
        var wait: Duration = .milliseconds(2_600)
    }

    static var scenarios: [Scenario] {
        let test1 = "_mongodb._tcp.test1.test.build.10gen.cc"
        func replace(_ ports: [UInt16]) -> (DNSZone) -> DNSZone {
            { $0.replacingSRV(of: test1, with: srv("test1", ports)) }
        }
        return [
            Scenario(name: "1. addition of a new DNS record", change: replace([27017, 27018, 27019]),
                     expected: [address(27017), address(27018), address(27019)]),
            Scenario(name: "2. removal of an existing DNS record", change: replace([27017]), expected: [address(27017)]),
            Scenario(name: "3. replacement of a DNS record", change: replace([27017, 27019]),
                     expected: [address(27017), address(27019)]),
            Scenario(name: "4. replacement of both records with one new record", change: replace([27019]),
                     expected: [address(27019)]),
            Scenario(name: "5. replacement of both records with two new records", change: replace([27019, 27020]),
                     expected: [address(27019), address(27020)]),
            Scenario(name: "6. DNS record lookup timeout", change: { zone in
                var silent = zone
                silent.mode = .silent
                return silent
            }, expected: nil, wait: .milliseconds(4_000)),
            Scenario(name: "7. DNS record lookup failure (NXDOMAIN)", change: { $0.replacingSRV(of: test1, with: []) }, expected: nil),
            Scenario(name: "8. removal of all DNS SRV records (the name stays, with no SRV record)", change: {
                var zone = $0.replacingSRV(of: test1, with: [])
                zone.records.append(.txt(test1, ["not an SRV record"]))
                return zone
            }, expected: nil),
            Scenario(name: "9. no SRV polling for load-balanced clusters",
                     uri: "mongodb+srv://test3.test.build.10gen.cc/?loadBalanced=true",
                     change: { $0.replacingSRV(of: "_mongodb._tcp.test3.test.build.10gen.cc", with: srv("test3", [27017, 27018])) },
                     expected: [address(27017)]),
            Scenario(name: "10. all DNS records are selected (srvMaxHosts = 0)",
                     uri: "mongodb+srv://test1.test.build.10gen.cc/?heartbeatFrequencyMS=500&srvMaxHosts=0",
                     change: replace([27017, 27019, 27020]), expected: [address(27017), address(27019), address(27020)]),
            Scenario(name: "11. all DNS records are selected (srvMaxHosts >= records)",
                     uri: "mongodb+srv://test1.test.build.10gen.cc/?heartbeatFrequencyMS=500&srvMaxHosts=2",
                     change: replace([27019, 27020]), expected: [address(27019), address(27020)]),
            Scenario(name: "12. new DNS records are randomly selected (srvMaxHosts > 0)",
                     uri: "mongodb+srv://test1.test.build.10gen.cc/?heartbeatFrequencyMS=500&srvMaxHosts=2",
                     change: replace([27017, 27019, 27020]), expected: nil, mustInclude: [address(27017)], count: 2),
            Scenario(name: "13. DNS record with custom service name can be found",
                     uri: "mongodb+srv://test22.test.build.10gen.cc/?heartbeatFrequencyMS=500&srvServiceName=customname",
                     change: { $0.replacingSRV(of: "_customname._tcp.test22.test.build.10gen.cc",
                                               with: srv("test22", [27019, 27020], service: "customname")) },
                     expected: [address(27019), address(27020)]),
        ]
    }

    /// Runs every scenario, and the TTL case; `report` sees each result as it comes.
    /// - Throws: when the sandbox or the deployment cannot be set up.
    public static func run(report: (SpecCaseResult) -> Void = { _ in }) throws -> SpecRunner.Summary {
        guard DNSSandbox.isInside else {
            throw DNSSandbox.SandboxError(description: "the SRV polling scenarios run inside the DNS sandbox only")
        }
        let dns = try DNSSandbox.prepare(serving: startingZone)
        defer { dns.stop() }
        let certificates = try GeneratedCertificates.generate()
        defer { certificates.remove() }
        var configuration = SimulatorConfiguration(
            kind: .mongos(count: 4), portBase: 27017, threadName: "poll-sim",
            tls: TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.serverFile))
        configuration.hostName = "localhost"
        let simulator = try MongoSimulator(configuration)
        defer { simulator.stop() }
        var summary = SpecRunner.Summary()
        func record(_ name: String, _ outcome: SpecOutcome) {
            let result = SpecCaseResult(file: "polling-srv-records-for-mongos-discovery", name: name, outcome: outcome)
            report(result)
            summary.results.append(result)
        }
        for scenario in scenarios {
            record(scenario.name, run(scenario, dns: dns, caFile: certificates.caFile))
        }
        record("TTL: the lowest TTL above the floor sets the rescan interval", ttlCase(dns: dns, caFile: certificates.caFile))
        record("resolver: an answer too large for UDP comes over TCP, each record with its TTL", largeAnswerCase(dns: dns))
        return summary
    }

    static func pool(_ uri: String, caFile: String, events: EventPublisher = EventPublisher()) throws -> ClientPool {
        try ClientPool(uri: uri, logger: Logger(label: "srv-poll", factory: { _ in SwiftLogNoOpLogHandler() }), events: events) { settings in
            settings.tls?.caFile = caFile
            settings.monitoring.threadName = "srv-poll"
            settings.topology.srv?.minimumRescanInterval = floor
        }
    }

    static func hosts(_ topology: Topology) -> Set<String> { Set(topology.description.servers.keys.map(\.description)) }

    static func waitFor(_ topology: Topology, within duration: Duration, _ condition: (Set<String>) -> Bool) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(duration.inMilliseconds) * 1_000_000
        var snapshot = topology.snapshot
        while !condition(Set(snapshot.description.servers.keys.map(\.description))) {
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else { return false }
            snapshot = next
        }
        return true
    }

    static func run(_ scenario: Scenario, dns: TestDNSServer, caFile: String) -> SpecOutcome {
        do {
            try dns.serve(startingZone)
            let pool = try pool(scenario.uri, caFile: caFile)
            defer { pool.close() }
            let initial: Set<String> = scenario.uri.contains("test1.") ? [address(27017), address(27018)] : [address(27017)]
            guard waitFor(pool.topology, within: .seconds(10), { $0 == initial }) else {
                return .failed("the first hosts were \(hosts(pool.topology).sorted()), expected \(initial.sorted())")
            }
            // The ping proves the pool works over TLS before the records change.
            let reply = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") }
            guard reply["ok"]?.isTruthy == true else { return .failed("ping replied \(reply)") }
            try dns.serve(scenario.change(startingZone))
            let expected = scenario.expected ?? (scenario.count == nil ? initial : nil)
            if let expected {
                // Reached within the wait, and still so at its end (no late change).
                _ = waitFor(pool.topology, within: scenario.wait) { $0 == expected }
                // Nothing may change: wait the whole time (two rescans at least) before looking.
                Thread.sleep(forTimeInterval: expected == initial ? Double(scenario.wait.inMilliseconds) / 1000 : 0.2)
                let now = hosts(pool.topology)
                return now == expected ? .passed : .failed("hosts \(now.sorted()), expected \(expected.sorted())")
            }
            let count = scenario.count ?? 0
            let reached = waitFor(pool.topology, within: scenario.wait) { $0.count == count && scenario.mustInclude.isSubset(of: $0) && $0 != initial }
            let now = hosts(pool.topology)
            return reached ? .passed : .failed("hosts \(now.sorted()), expected \(count) including \(scenario.mustInclude.sorted()) and not \(initial.sorted())")
        } catch {
            return .failed("\(error)")
        }
    }

    /// 40 SRV records (about 2 KB: the server truncates its UDP answer) and a TXT record of
    /// three strings, read by the resolver the pools use (res_nsearch retries over TCP).
    static func largeAnswerCase(dns: TestDNSServer) -> SpecOutcome {
        let name = "_mongodb._tcp.big.test.build.10gen.cc"
        let ports = (0..<40).map { UInt16(30_000 + $0) }
        let records = ports.enumerated().map { i, port in
            DNSZone.Record.srv(name, port: port, target: "host\(i).big.test.build.10gen.cc.", ttl: UInt32(100 + i))
        }
        do {
            try dns.serve(DNSZone(records: records + [.txt("big.test.build.10gen.cc", ["a=", "b", "c"], ttl: 7)]))
            let outcome = RecordResolver.lookUpBlocking(RecordResolver.Query(srvName: name, txtName: "big.test.build.10gen.cc"))
            let answer = try outcome.get()
            let got = Set(answer.srv.map { "\($0.target):\($0.port):\($0.ttl ?? 0)" })
            let want = Set(ports.enumerated().map { i, port in "host\(i).big.test.build.10gen.cc:\(port):\(100 + i)" })
            guard got == want else { return .failed("SRV records \(got.sorted().prefix(3))…, expected \(want.count) like \(want.sorted().prefix(3))") }
            guard answer.txt == [TXTRecord(strings: ["a=", "b", "c"], ttl: 7)] else { return .failed("TXT records \(answer.txt)") }
            guard case .failure(let error) = RecordResolver.lookUpBlocking(RecordResolver.Query(srvName: "_mongodb._tcp.nothere.test.build.10gen.cc", txtName: nil)),
                  error.description == "SRV lookup of _mongodb._tcp.nothere.test.build.10gen.cc failed: NXDOMAIN"
            else { return .failed("a missing name did not fail with NXDOMAIN") }
            return .passed
        } catch {
            return .failed("\(error)")
        }
    }

    /// Records of TTL 3 s (floor 500 ms): the rescan after the initial lookup comes about 3 s
    /// after it, as the srvLookup events show.
    static func ttlCase(dns: TestDNSServer, caFile: String) -> SpecOutcome {
        do {
            let zone = DNSZone(records: [.a(DNSZone.testHost)] + srv("test1", [27017, 27018], ttl: 3))
            try dns.serve(zone)
            let events = EventPublisher()
            let lookups = ConditionLock<[(UInt64, SRVEvent)]>([])
            events.addTimedHandler { event, ns in
                if case .srv(let srv) = event {
                    lookups.withLock { $0.append((ns, srv)) }
                    lookups.broadcast()
                }
            }
            let pool = try pool("mongodb+srv://test1.test.build.10gen.cc/?heartbeatFrequencyMS=500", caFile: caFile, events: events)
            defer { pool.close() }
            let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
            let found = lookups.wait(until: deadline) { all -> [(UInt64, SRVEvent)]? in
                let ends = all.filter { if case .lookupSucceeded = $0.1 { true } else { false } }
                return ends.count >= 2 ? ends : nil
            }
            guard let found, case .lookupSucceeded(let first) = found[0].1 else { return .failed("fewer than two lookups ended in 10 s") }
            let intervalMS = Double(found[1].0 - found[0].0) / 1e6
            guard first.nextRescanMS == 3000 else { return .failed("the next rescan was set \(first.nextRescanMS ?? -1) ms out, expected 3000") }
            return (2_900...3_600).contains(intervalMS) ? .passed : .failed("the rescan came \(Int(intervalMS)) ms after the lookup, expected about 3000")
        } catch {
            return .failed("\(error)")
        }
    }
}
