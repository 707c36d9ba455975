// The child process of `AsyncWaitTests` (run on its own, so that its thread count is its own):
//
//   async-wait-probe sleep N          N tasks that only sleep: the baseline thread count
//   async-wait-probe wait URI N       N tasks wait through the async face for a primary
//
// `wait` prints `waiting` once every task waits (for a client or for a server); the parent then
// elects a primary. Half the tasks (the even ones) are cancelled 500 ms into the wait. The last
// line is one JSON object with the figures.
import Foundation
import MongoClientPool
@_spi(LoopPrimitives) import PoolMonitor

func threadCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
}

func say(_ line: String) {
    print(line)
    fflush(nil)
}

/// Samples the thread count every 20 ms until stopped; the peak.
final class ThreadSampler: Sendable {
    private let peak = ConditionLock(0)
    private let stopped = ConditionLock(false)

    func start() {
        Thread.detachNewThread { [self] in
            while !stopped.withLock({ $0 }) {
                let now = threadCount() - 1  // this sampling thread is not the program's
                peak.withLock { $0 = max($0, now) }
                usleep(20_000)
            }
        }
    }

    func stop() -> Int {
        stopped.withLock { $0 = true }
        return peak.withLock { $0 }
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return -1 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

func ms(_ ns: UInt64) -> Double { Double(ns) / 1e6 }

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    say("usage: async-wait-probe sleep N | wait URI N")
    exit(2)
}

/// The baseline: `count` tasks that only sleep, on the global executor.
func sleepScenario(count: Int) async {
    let sampler = ThreadSampler()
    sampler.start()
    await withTaskGroup(of: Void.self) { group in
        for _ in 0..<count {
            group.addTask { try? await Task.sleep(for: .seconds(3)) }
        }
    }
    say("{\"threadsPeak\": \(sampler.stop())}")
}

enum Outcome: Sendable {
    case wrote(selectionStartNS: UInt64, selectedNS: UInt64)
    case cancelled(endedNS: UInt64)
    case failed(String)
}


/// The scenario: tasks created here run on the global executor (a function of its own, not
/// the main actor's top-level code).
func waitScenario(uri: String, count: Int) async throws {
    // Events are queued with the time they happened and delivered at the end, on this task's
    // thread: no publisher thread of their own in the count.
    let events = EventPublisher(delivery: .onDeliverPending)
    let primaryKnownNS = ConditionLock<UInt64?>(nil)
    events.addTimedHandler { event, happenedNS in
        if case .sdam(.topologyDescriptionChanged(_, let new)) = event, new.servers.values.contains(where: { $0.type == .rsPrimary }) {
            primaryKnownNS.withLock { if $0 == nil { $0 = happenedNS } }
        }
    }
    let pool = try ClientPool(uri: uri, events: events)
    let sampler = ThreadSampler()
    sampler.start()

    let insert: BSONDocument = ["insert": "waiters", "documents": [["x": 1]]]
    let startNS = MonotonicClock.nanoseconds()
    var tasks: [Task<Outcome, Never>] = []
    for _ in 0..<count {
        tasks.append(Task {
            do {
                return try await pool.withClient { client in
                    let selectionStart = MonotonicClock.nanoseconds()
                    _ = try await client.selectServer(for: .write)
                    let selected = MonotonicClock.nanoseconds()
                    let reply = try await client.runWriteCommand(insert, database: "probe")
                    guard reply["ok"]?.isTruthy == true else { return .failed("reply \(reply)") }
                    return .wrote(selectionStartNS: selectionStart, selectedNS: selected)
                }
            } catch is CancellationError {
                return .cancelled(endedNS: MonotonicClock.nanoseconds())
            } catch {
                return .failed("\(error)")
            }
        })
    }
    // Every task waits: maxPoolSize of them for a server, the rest for a client.
    while pool.waitingTaskCount + pool.topology.changeWaiterCount < count {
        try await Task.sleep(for: .milliseconds(5))
        if MonotonicClock.nanoseconds() - startNS > 60_000_000_000 {
            say("error: only \(pool.waitingTaskCount) waiting for a client and \(pool.topology.changeWaiterCount) for a server after 60 s")
            exit(1)
        }
    }
    let allWaitingMS = ms(MonotonicClock.nanoseconds() - startNS)
    let waitingForClients = pool.waitingTaskCount, waitingForServer = pool.topology.changeWaiterCount
    say("waiting")
    try await Task.sleep(for: .milliseconds(500))
    let cancelNS = MonotonicClock.nanoseconds()
    for (index, task) in tasks.enumerated() where index % 2 == 0 { task.cancel() }
    var outcomes: [Outcome] = []
    for task in tasks { outcomes.append(await task.value) }
    let threadsPeak = sampler.stop()
    events.deliverPending()
    let known = primaryKnownNS.withLock { $0 } ?? 0
    var cancelled: [Double] = [], selectionsAfterPrimary: [Double] = [], failures: [String] = []
    var wrote = 0
    for outcome in outcomes {
        switch outcome {
        case .cancelled(let ended): cancelled.append(ms(ended - cancelNS))
        case .wrote(let start, let selected):
            wrote += 1
            // A selection that was waiting when the primary became known.
            if start < known { selectionsAfterPrimary.append(ms(selected > known ? selected - known : 0)) }
        case .failed(let reason): failures.append(reason)
        }
    }
    await pool.close()
    let json: [String: Any] = [
        "tasks": count, "threadsPeak": threadsPeak, "allWaitingMS": allWaitingMS,
        "waitingForClients": waitingForClients, "waitingForServer": waitingForServer,
        "cancelled": cancelled.count, "cancelEndP50MS": percentile(cancelled, 0.5), "cancelEndP99MS": percentile(cancelled, 0.99),
        "cancelEndMaxMS": cancelled.max() ?? -1,
        "wrote": wrote, "failed": failures.count, "firstFailure": failures.first ?? "",
        "waitingSelections": selectionsAfterPrimary.count,
        "selectionEndP50MS": percentile(selectionsAfterPrimary, 0.5), "selectionEndP99MS": percentile(selectionsAfterPrimary, 0.99),
        "selectionEndMaxMS": selectionsAfterPrimary.max() ?? -1,
        "primaryKnownAfterStartMS": known > startNS ? ms(known - startNS) : -1,
    ]
    let data = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
    say(String(decoding: data, as: UTF8.self))
}

if arguments[1] == "sleep" {
    await sleepScenario(count: Int(arguments[2])!)
} else {
    try await waitScenario(uri: arguments[2], count: Int(arguments[3])!)
}
