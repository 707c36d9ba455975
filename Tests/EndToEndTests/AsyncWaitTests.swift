import Foundation
import MongoSimulator
import Testing
import TestSupport
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// Issue 15's measure of the async face: 10,000 tasks wait through it for a primary that is
/// elected 2 s later, in a child process of their own (`AsyncWaitProbe`), so that the threads
/// counted are theirs alone; the simulated set runs here, in the test's process.
///
/// No thread is blocked per waiting task: the child has at most four threads more than the same
/// program whose 10,000 tasks only sleep. When the primary becomes known, the waiting
/// selections end within 100 ms (p99) and every write then succeeds; half the tasks, cancelled
/// while they wait, end at once with CancellationError.
@Suite(.serialized) struct AsyncWaitTests {
    static let tasks = 10_000

    static func probe() throws -> URL {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let url = me.deletingLastPathComponent().appendingPathComponent("AsyncWaitProbe")
        try #require(FileManager.default.isExecutableFile(atPath: url.path), "AsyncWaitProbe is not built at \(url.path); run `swift build` first")
        return url
    }

    /// Runs the probe; `onLine` sees each line as it comes. Bounded: killed after `seconds`.
    /// - Returns: the exit status and the lines printed.
    static func run(
        _ probe: URL, _ arguments: [String], seconds: Double = 120, onLine: @escaping @Sendable (String) -> Void = { _ in }
    ) throws -> (status: Int32, lines: [String]) {
        let process = Process()
        process.executableURL = probe
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.standardError
        try process.run()
        let killer = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: killer)
        var lines: [String] = []
        var pending = Data()
        let handle = out.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                lines.append(line)
                onLine(line)
            }
        }
        process.waitUntilExit()
        killer.cancel()
        return (process.terminationStatus, lines)
    }

    /// The last line's JSON figures of a run that must have exited 0.
    static func figures(_ run: (status: Int32, lines: [String])) throws -> JSONValue {
        let lines = run.lines
        #expect(run.status == 0, "the probe exited \(run.status): \(lines.suffix(3))")
        let last = try #require(lines.last { $0.hasPrefix("{") }, "no figures in \(lines.suffix(3))")
        return try JSONParser.parse(last)
    }

    /// Runs `body` (which blocks, reading the probe's output) on a thread of its own, so that
    /// the test holds no cooperative thread the other suites' tasks need meanwhile.
    static func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let done = AsyncWaiter<T>()
        WorkerThreads.runDetached(name: "probe-reader") { done.resume(Result { try body() }) }
        return try await done.value(withdraw: {})
    }

    @Test func tenThousandTasksWaitForAPrimaryWithoutAThreadEach() async throws {
        let probe = try Self.probe()
        let baseline = try Self.figures(await Self.offThread { try Self.run(probe, ["sleep", "\(Self.tasks)"]) })
        let baselineThreads = try #require(baseline["threadsPeak"]?.doubleValue)

        // No primary until the test elects one: a stepdown whose election never comes by itself.
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), electionDelayMS: 600_000, threadName: "wait-sim"))
        defer { sim.stop() }
        try sim.stepDown()
        let elected = ConditionLock<UInt64?>(nil)
        let candidate = sim.addresses[1]
        let uri = "mongodb://\(sim.addresses[0])/?replicaSet=rs0&appname=async-wait"
        let run = try await Self.offThread { try Self.run(probe, ["wait", uri, "\(Self.tasks)"]) { line in
            guard line == "waiting" else { return }
            // The primary is elected 2 s after every task waits.
            DispatchQueue.global().asyncAfter(deadline: .now() + 2) {
                try? sim.elect(candidate)
                elected.withLock { $0 = MonotonicClock.nanoseconds() }
            }
        } }
        #expect(run.lines.contains("waiting"))
        #expect(elected.withLock { $0 } != nil)
        let f = try Self.figures(run)
        func n(_ key: String) -> Double { f[key]?.doubleValue ?? -1 }
        print("figure: async wait: \(Self.tasks) tasks; threads \(Int(n("threadsPeak"))) (tasks that only sleep: \(Int(baselineThreads))); "
            + "waiting for a client \(Int(n("waitingForClients"))), for a server \(Int(n("waitingForServer"))); "
            + "cancelled \(Int(n("cancelled"))) ended p50 \(n("cancelEndP50MS")) ms, p99 \(n("cancelEndP99MS")) ms, max \(n("cancelEndMaxMS")) ms; "
            + "\(Int(n("waitingSelections"))) waiting selections ended after the primary was known: p50 \(n("selectionEndP50MS")) ms, "
            + "p99 \(n("selectionEndP99MS")) ms, max \(n("selectionEndMaxMS")) ms; writes \(Int(n("wrote"))), failed \(Int(n("failed")))")
        #expect(n("threadsPeak") <= baselineThreads + 4, "\(n("threadsPeak")) threads, the sleeping baseline has \(baselineThreads)")
        #expect(n("waitingForClients") + n("waitingForServer") == Double(Self.tasks))
        #expect(n("waitingForClients") > n("waitingForServer"), "with the default maxPoolSize most wait for a client")
        #expect(n("cancelled") == Double(Self.tasks / 2))
        #expect(n("cancelEndP99MS") < TimingBudget.ms(100) && n("cancelEndMaxMS") < TimingBudget.ms(1_000), "cancelled tasks must end at once")
        #expect(n("wrote") == Double(Self.tasks / 2), "the other half completes: \(f["firstFailure"]?.stringValue ?? "")")
        #expect(n("failed") == 0)
        #expect(n("waitingSelections") > 0)
        #expect(n("selectionEndP99MS") >= 0 && n("selectionEndP99MS") < TimingBudget.ms(100), "waiting selections must end within 100 ms of the primary")
    }
}
