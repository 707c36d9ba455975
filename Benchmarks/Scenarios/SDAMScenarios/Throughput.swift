import MongoClientPool
import Foundation
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor
@_spi(LoopPrimitives) import MongoClientPool

/// Round trips of `ping` through the pool, with N concurrent callers, against a simulated
/// three-member set in its own process: completed commands per second and their latency
/// (p50, p99), and meanwhile the monitor's timer lag (polling, heartbeatFrequencyMS=500): how
/// late each check starts after the one before, less the heartbeat.
///
/// - `async`: N tasks, each `try await pool.withClient { try await $0.runCommand(ping) }` in
///   a loop; the operations loop is the pool's own (`dedicated`) or the monitor's (`monitor`).
/// - `blocking`: N threads, each `pool.withClient { try $0.runCommand(ping) }` in a loop.
///
/// The timer lag of checks includes their hello's round trip, which the loaded simulator
/// stretches for every driver alike. How promptly the monitor's loop itself runs its timers is
/// measured apart: a probe thread posts a closure to the loop every 5 ms and records how long
/// it waited to run (`loopDelay`); a timer that is due waits as long, in the same loop turn.
///
/// Every caller takes a client per command (the default maxPoolSize, 100, bounds them), as a
/// request handler would.
enum Throughput {
    enum Mode: String { case async, blocking }

    static let heartbeatMS = 500
    static let ping: BSONDocument = ["ping": 1]

    /// Per caller: latencies (ns) of the commands completed in the window.
    final class Recorder: Sendable {
        let latencies = ConditionLock<[UInt64]>([])
        let errors = ConditionLock<[String]>([])
        let windowStart = ConditionLock<UInt64>(.max)
        let windowEnd = ConditionLock<UInt64>(.max)

        /// One command's outcome: its latency when it ran inside the window, or its error.
        func record(_ result: Result<BSONDocument, any Error>, started: UInt64, into local: inout [UInt64]) {
            let ended = Subject.nowNS()
            if case .failure(let error) = result { errors.withLock { $0.append("\(error)") } }
            if started >= windowStart.withLock({ $0 }), ended <= windowEnd.withLock({ $0 }) { local.append(ended - started) }
        }
        var stopped: Bool { Subject.nowNS() >= windowEnd.withLock { $0 } }
    }

    static func run(
        sdam: String, mode: Mode, concurrency: Int, windowSeconds: Double, placement: OperationsLoopPlacement
    ) async throws -> [(String, JSONValue)] {
        OpenFileLimit.raiseToHardLimit()
        let sim = try SimulatorProcess(sdam: sdam, arguments: ["--replica-set", "rs0", "--members", "3"])
        defer { sim.stop() }
        let log = Subject.CheckLog()
        let events = EventPublisher()
        events.addTimedHandler { log.record($0, at: $1) }
        let uri = "mongodb://\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=\(heartbeatMS)&serverMonitoringMode=poll"
        let pool = try ClientPool(uri: uri, events: events, operationsLoop: placement)
        try Subject.waitFor(pool.topology, seconds: 30) { t in t.servers.values.allSatisfy { $0.type == .rsPrimary || $0.type == .rsSecondary } }
        let recorder = Recorder()
        // A second of warm-up (connections established), then the window.
        let warmUp = Subject.nowNS() + 1_000_000_000
        recorder.windowStart.withLock { $0 = warmUp }
        recorder.windowEnd.withLock { $0 = warmUp + UInt64(windowSeconds * 1e9) }
        let loopDelays = ConditionLock<[Double]>([])
        if let loop = pool.monitorEventLoop {
            Thread.detachNewThread {
                while !recorder.stopped {
                    let posted = Subject.nowNS()
                    let inWindow = posted >= warmUp
                    loop.execute {
                        let delay = Double(Subject.nowNS() - posted) / 1e6
                        if inWindow { loopDelays.withLock { $0.append(delay) } }
                    }
                    usleep(5_000)
                }
            }
        }
        let cpu0 = ProcessUsage.cpuSeconds()
        var threads = 0
        switch mode {
        case .async:
            threads = try await runTasks(pool, concurrency: concurrency, recorder: recorder, warmUp: warmUp, log: log)
        case .blocking:
            threads = runThreads(pool, concurrency: concurrency, recorder: recorder, warmUp: warmUp, log: log)
        }
        threads -= pool.monitorEventLoop == nil ? 0 : 1  // the probe's thread is the benchmark's
        let cpu1 = ProcessUsage.cpuSeconds()
        events.flush()
        await pool.close()
        let latencies = recorder.latencies.withLock { $0 }.map { Double($0) / 1e6 }
        let state = log.state.withLock { $0 }
        let lags = state.starts.values.flatMap { starts in
            zip(starts.dropFirst(), starts).map { Double($0 &- $1) / 1e6 - Double(heartbeatMS) }
        }
        let errors = recorder.errors.withLock { $0 }
        return [
            ("mode", .string(mode.rawValue + (mode == .async ? "-\(placement == .dedicated ? "own-loop" : "monitor-loop")" : ""))),
            ("concurrency", .number("\(concurrency)")), ("windowS", Subject.num(windowSeconds)),
            ("opsPerSec", Subject.num(Double(latencies.count) / windowSeconds)),
            ("p50MS", Subject.num(percentile(latencies, 50) ?? -1)), ("p99MS", Subject.num(percentile(latencies, 99) ?? -1)),
            ("lagP50MS", Subject.num(percentile(lags, 50) ?? -1)), ("lagP99MS", Subject.num(percentile(lags, 99) ?? -1)),
            ("lagSamples", .number("\(lags.count)")),
            ("loopDelayP50MS", Subject.num(percentile(loopDelays.withLock { $0 }, 50) ?? -1)),
            ("loopDelayP99MS", Subject.num(percentile(loopDelays.withLock { $0 }, 99) ?? -1)),
            ("threads", .number("\(threads)")), ("cpuSecPerMin", Subject.num((cpu1 - cpu0) / (windowSeconds + 1) * 60)),
            ("errors", .number("\(errors.count)")), ("firstError", .string(errors.first ?? "")),
        ]
    }

    /// Forgets the checks of the warm-up once it is over.
    static func openWindow(at warmUp: UInt64, log: Subject.CheckLog) {
        let now = Subject.nowNS()
        if warmUp > now { usleep(useconds_t((warmUp - now) / 1_000)) }
        log.startWindow()
    }

    static func runTasks(_ pool: ClientPool, concurrency: Int, recorder: Recorder, warmUp: UInt64, log: Subject.CheckLog) async throws -> Int {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var local: [UInt64] = []
                    while !recorder.stopped {
                        let started = Subject.nowNS()
                        let result = await Result { () async throws -> BSONDocument in
                            try await pool.withClient { try await $0.runCommand(ping, database: "admin") }
                        }
                        recorder.record(result, started: started, into: &local)
                    }
                    recorder.latencies.withLock { [local] in $0 += local }
                }
            }
            try await Task.sleep(for: .nanoseconds(Int64(warmUp - min(warmUp, Subject.nowNS()))))
            log.startWindow()
            try await Task.sleep(for: .seconds(Double(recorder.windowEnd.withLock { $0 } - warmUp) / 1e9 / 2))
            let threads = ProcessUsage.threads()
            try await group.waitForAll()
            return threads
        }
    }

    static func runThreads(_ pool: ClientPool, concurrency: Int, recorder: Recorder, warmUp: UInt64, log: Subject.CheckLog) -> Int {
        let done = ConditionLock(0)
        for _ in 0..<concurrency {
            Thread.detachNewThread {
                var local: [UInt64] = []
                while !recorder.stopped {
                    let started = Subject.nowNS()
                    let result = Result { try pool.withClient { try $0.runCommand(ping, database: "admin") } }
                    recorder.record(result, started: started, into: &local)
                }
                recorder.latencies.withLock { [local] in $0 += local }
                done.withLock { $0 += 1 }
                done.broadcast()
            }
        }
        openWindow(at: warmUp, log: log)
        Thread.sleep(forTimeInterval: Double(recorder.windowEnd.withLock { $0 } - warmUp) / 1e9 / 2)
        let threads = ProcessUsage.threads()
        _ = done.wait(until: nil) { $0 == concurrency ? true : nil }
        return threads
    }
}

extension Result where Failure == any Error {
    /// `Result(catching:)` for an async body.
    init(_ body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
