@testable import MongoClientPool
import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The soak (issue 6): 500 mongos at 500 ms heartbeats, kills and revivals every few seconds,
/// 16 threads popping, running commands and pushing. RSS, open descriptors and threads must stay
/// flat, and the only errors are the expected ones (network errors on a mongos that was just
/// killed, selection of a server being replaced).
///
/// Opt-in, because it runs for minutes: `SOAK_SECONDS=600 swift test --filter SoakTests`.
@Suite(.serialized) struct SoakTests {
    static var seconds: Double? {
        ProcessInfo.processInfo.environment["SOAK_SECONDS"].flatMap(Double.init)
    }

    static func residentMB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
        let pages = text.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? -1
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    @Test(.enabled(if: seconds != nil, "opt-in: set SOAK_SECONDS"))
    func fiveHundredMongosWithKillsRevivalsAndSixteenThreads() throws {
        let duration = Self.seconds ?? 0
        ResourceCounts.raiseOpenFileLimit()
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 500), threadName: "soak-sim"))
        defer { sim.stop() }
        let uri = "mongodb://\(sim.addresses.joined(separator: ","))/?heartbeatFrequencyMS=500&serverMonitoringMode=poll&maxPoolSize=16&serverSelectionTimeoutMS=5000&appname=soak"
        let pool = try ClientPool(uri: uri)
        _ = Deployment.waitFor(pool.topology, seconds: 30) { $0.servers.values.filter { $0.type == .mongos }.count == 500 }
        let start = MonotonicClock.nanoseconds()
        let deadline = start + UInt64(duration * 1e9)
        let counts = ConditionLock((ok: 0, network: 0, selection: 0, other: [String]()))
        var samples: [(t: Double, rssMB: Double, fds: Int, threads: Int)] = []
        var mostPerServer = 0
        let workers = DispatchGroup()
        for _ in 0..<16 {
            DispatchQueue.global().async(group: workers) {
                while MonotonicClock.nanoseconds() < deadline {
                    do {
                        let client = try pool.pop()
                        defer { pool.push(client) }
                        _ = try client.runCommand(["ping": .int32(1)], database: "admin", readPreference: .nearest)
                        counts.withLock { $0.ok += 1 }
                    } catch {
                        switch error as? ClientPoolError {
                        // A mongos just killed: a network error, or its pool cleared under the
                        // operation (PoolClearedError).
                        case .network?, .connectionPoolCleared?: counts.withLock { $0.network += 1 }
                        case .serverSelectionTimeout?: counts.withLock { $0.selection += 1 }
                        default: counts.withLock { $0.other.append("\(error)") }
                        }
                    }
                }
            }
        }
        var rng = SplitMix64(seed: 0x50A4)
        var killed: [String] = []
        var nextSample = start
        while MonotonicClock.nanoseconds() < deadline {
            // Every 2 s: kill two mongos, revive those killed 2 s ago.
            for address in killed { try sim.revive(address) }
            killed = (0..<2).map { _ in sim.addresses[Int(rng.next() % 500)] }
            for address in Set(killed) { try sim.kill(address) }
            killed = Array(Set(killed))
            mostPerServer = max(mostPerServer, pool.shared.pools.connectionCounts.values.max() ?? 0)
            if MonotonicClock.nanoseconds() >= nextSample {
                let t = Double(MonotonicClock.nanoseconds() - start) / 1e9
                samples.append((t, Self.residentMB(), ResourceCounts.openFileDescriptors(), ResourceCounts.threads()))
                nextSample += 30_000_000_000
            }
            Thread.sleep(forTimeInterval: 2)
        }
        // The last sample while the workers still run: the flatness check is about the run.
        let t = Double(MonotonicClock.nanoseconds() - start) / 1e9
        samples.append((t, Self.residentMB(), ResourceCounts.openFileDescriptors(), ResourceCounts.threads()))
        workers.wait()
        for address in killed { try sim.revive(address) }
        let result = counts.withLock { $0 }
        for s in samples {
            print("soak: t=\(Int(s.t)) s rss=\(String(format: "%.1f", s.rssMB)) MB fds=\(s.fds) threads=\(s.threads)")
        }
        print("soak: at most \(mostPerServer) connections to one server (maxPoolSize 16)")
        print("soak: \(result.ok) commands ok, \(result.network) network errors, \(result.selection) selection timeouts, \(result.other.count) other")
        pool.close()
        #expect(result.other.isEmpty, "unexpected errors: \(result.other.prefix(5))")
        #expect(result.ok > 0)
        #expect(mostPerServer <= 16, "a server's pool held \(mostPerServer) connections, over maxPoolSize")
        // Flat: compare the middle sample (clients have opened their connections by then: each
        // holds one per mongos it used, as in libmongoc's pooled mode) with the last.
        if samples.count >= 3 {
            let warm = samples[samples.count / 2], last = samples[samples.count - 1]
            #expect(last.rssMB < warm.rssMB * 1.25 + 10, "RSS grew from \(warm.rssMB) MB to \(last.rssMB) MB")
            #expect(last.fds <= warm.fds + 40, "descriptors grew from \(warm.fds) to \(last.fds)")
            #expect(last.threads <= warm.threads + 4, "threads grew from \(warm.threads) to \(last.threads)")
        }
    }
}
