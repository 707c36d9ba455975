import Foundation
import Dispatch
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor
import MongoClientPool

/// One run of a CMAP format file against a `ServerConnectionPool`: the file's operations on
/// the main thread and on named threads, events recorded in order, then the error and the
/// events matched as the README says. Every wait is bounded: a `waitForEvent` without a
/// timeout gives up after `defaultWait`, a thread not done after the operations is waited for
/// that long, then the pool is closed (which fails every waiting check-out); a file still
/// running after `watchdog` has its pool closed from the ticker thread.
final class CMAPTestRun<Connection: PoolableConnection>: Sendable {
    typealias Pool = ServerConnectionPool<Connection>

    static var defaultWait: Duration { .seconds(10) }
    static var watchdog: Duration { .seconds(60) }

    /// An operation's error: the pool's, or the runner's own (a wait that timed out, a
    /// label never set).
    enum OperationError: Error, Sendable {
        case pool(Pool.CheckOutFailure)
        case runner(String)
    }

    /// What came of the file.
    struct Result {
        var outcome: SpecOutcome
    }

    let test: CMAPTestBox
    let address: ServerAddress
    let events = ConditionLock<[ConnectionPoolEvent]>([])
    let labels = ConditionLock<[String: Pool.CheckedOut]>([:])
    private let poolBox = ConditionLock<Pool?>(nil)
    private let background = DispatchGroup()
    private let ticker = ConditionLock<Bool>(false)

    private init(test: CMAPTest, address: ServerAddress) {
        self.test = CMAPTestBox(test)
        self.address = address
    }

    var pool: Pool {
        // Set right after init, before any operation runs.
        poolBox.withLock { $0! }
    }

    /// Runs the file; `establish` makes the pool's connections.
    static func execute(_ test: CMAPTest, address: ServerAddress, establish: @escaping Pool.Establish) throws(SDAMFormat.Failure) -> Result {
        let run = CMAPTestRun(test: test, address: address)
        let events = run.events
        let background = run.background
        let poolBox = run.poolBox
        let pool = Pool(
            address: address,
            options: test.options,
            establish: establish,
            publish: { new in
                events.withLock { $0.append(contentsOf: new) }
                events.broadcast()
            },
            background: { work in
                background.enter()
                // A thread of its own, not the shared dispatch pool: under the parallel test
                // suite that pool's few threads are held by tests that block (Swift Testing
                // runs them there), and an establishment queued behind them could start seconds
                // late, past the file's waitQueueTimeoutMS.
                let thread = Thread {
                    work()
                    background.leave()
                }
                thread.name = "cmap-populate"
                thread.start()
            },
            onEstablishmentFailure: { _, _ in
                // SDAM's part (CMAP "Populating the Pool"): a pre-handshake error clears the pool.
                poolBox.withLock { $0 }?.clear(interruptInUseConnections: false, reason: "an error while populating the pool")
            }
        )
        poolBox.withLock { $0 = pool }
        return run.execute()
    }

    private func execute() -> Result {
        let tickerThread = startTicker()
        var threads: [String: CMAPThread] = [:]
        var mainError: OperationError?
        for operation in test.value.operations {
            let name = operation["name"]?.stringValue ?? ""
            if name == "start" {
                guard let target = operation["target"]?.stringValue else {
                    mainError = .runner("start without a target")
                    break
                }
                threads[target] = CMAPThread(name: target)
                continue
            }
            if let threadName = operation["thread"]?.stringValue {
                guard let thread = threads[threadName] else {
                    mainError = .runner("operation on thread \(threadName), which was never started")
                    break
                }
                thread.schedule { [self] in try perform(operation, threads: [:]) }
                continue
            }
            do throws(OperationError) {
                try perform(operation, threads: threads)
            } catch {
                mainError = error
                break
            }
        }
        // Threads finish what was scheduled on them; a thread still blocked is released by
        // closing the pool.
        var stuck: [String] = []
        if !joinAll(threads, within: Self.defaultWait) {
            stuck = threads.filter { !$0.value.isFinished }.map(\.key).sorted()
            pool.close()
            _ = joinAll(threads, within: Self.defaultWait)
        }
        let actual = events.withLock { $0 }
        stopTicker(tickerThread)
        pool.close()
        _ = background.wait(timeout: .now() + .seconds(10))

        var problems: [String] = []
        if !stuck.isEmpty { problems.append("threads \(stuck) had not finished \(Self.defaultWait) after the operations") }
        if watchdogFired.withLock({ $0 }) {
            problems.append("the file ran longer than \(Self.watchdog); its pool was closed")
        }
        problems += checkError(mainError)
        problems += checkEvents(actual)
        if !problems.isEmpty {
            // Why the named threads' operations failed (a failed check-out's own error), which
            // the events alone do not say.
            for (name, thread) in threads.sorted(by: { $0.key < $1.key }) {
                guard let error = thread.error else { continue }
                let text = (error as? OperationError).map(describe) ?? "\(error)"
                problems.append("thread \(name) failed: \(text)")
            }
        }
        return Result(outcome: problems.isEmpty ? .passed : .failed(problems.joined(separator: "; ")))
    }

    // MARK: - Operations

    private func perform(_ operation: JSONValue, threads: [String: CMAPThread]) throws(OperationError) {
        let name = operation["name"]?.stringValue ?? "(none)"
        switch name {
        case "wait":
            let ms = operation["ms"]?.intValue ?? 0
            Thread.sleep(forTimeInterval: Double(ms) / 1000)
        case "waitForThread":
            guard let target = operation["target"]?.stringValue, let thread = threads[target] else {
                throw .runner("waitForThread: no thread \(operation["target"]?.stringValue ?? "(none)")")
            }
            guard thread.waitUntilIdle(within: Self.defaultWait) else {
                throw .runner("thread \(target) did not finish within \(Self.defaultWait)")
            }
            // README: waitForThread propagates the thread's errors to the main thread.
            if let error = thread.error {
                throw error as? OperationError ?? .runner("thread \(target): \(error)")
            }
        case "waitForEvent":
            guard let event = operation["event"]?.stringValue else { throw .runner("waitForEvent without an event") }
            let count = operation["count"]?.intValue ?? 1
            let timeout = operation["timeout"]?.intValue.map { Duration.milliseconds($0) } ?? Self.defaultWait
            let deadline = MonotonicClock.nanoseconds() + UInt64(timeout.inMilliseconds) * 1_000_000
            // The ignore list does not apply here (README).
            let seen = events.wait(until: deadline) { all -> Int? in
                let n = all.filter { $0.typeName == event }.count
                return n >= count ? n : nil
            }
            if seen == nil {
                let n = events.withLock { all in all.filter { $0.typeName == event }.count }
                throw .runner("waitForEvent: \(n) \(event) events after \(timeout), expected \(count)")
            }
        case "checkOut":
            let deadline = test.value.options.waitQueueTimeout.map {
                MonotonicClock.nanoseconds() + UInt64($0.inMilliseconds) * 1_000_000
            }
            let checkedOut: Pool.CheckedOut
            do {
                checkedOut = try pool.checkOut(deadline: deadline)
            } catch {
                throw .pool(error)
            }
            if let label = operation["label"]?.stringValue {
                labels.withLock { $0[label] = checkedOut }
            }
        case "checkIn":
            let label = operation["connection"]?.stringValue ?? "(none)"
            guard let checkedOut = labels.withLock({ $0[label] }) else {
                throw .runner("checkIn: no connection labelled \(label)")
            }
            pool.checkIn(checkedOut, perished: false)
        case "clear":
            let interrupt = operation["interruptInUseConnections"]?.boolValue ?? false
            pool.clear(interruptInUseConnections: interrupt, reason: "the test cleared it")
        case "close":
            pool.close()
        case "ready":
            pool.ready()
        default:
            throw .runner("unknown operation \(name)")
        }
    }

    private func joinAll(_ threads: [String: CMAPThread], within limit: Duration) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(limit.inMilliseconds) * 1_000_000
        for thread in threads.values {
            thread.stop()
            let left = deadline > MonotonicClock.nanoseconds() ? deadline - MonotonicClock.nanoseconds() : 0
            if !thread.join(within: .nanoseconds(Int64(left))) { return false }
        }
        return true
    }

    // MARK: - The background thread and the watchdog

    private let watchdogFired = ConditionLock(false)

    /// Runs `backgroundRun()` at the file's interval and closes the pool if the file overruns.
    private func startTicker() -> CMAPThread {
        let interval = test.value.backgroundThreadIntervalMS ?? 10
        let thread = CMAPThread(name: "cmap-background")
        let start = MonotonicClock.nanoseconds()
        let watchdogNS = UInt64(Self.watchdog.inMilliseconds) * 1_000_000
        thread.schedule { [self] in
            var nextRun: UInt64? = interval > 0 ? MonotonicClock.nanoseconds() + UInt64(interval) * 1_000_000 : nil
            while true {
                let watchdogAt = start + watchdogNS
                let wake = min(nextRun ?? watchdogAt, watchdogAt)
                if ticker.wait(until: wake, { $0 ? true : nil }) != nil { return }
                let now = MonotonicClock.nanoseconds()
                if now >= watchdogAt {
                    watchdogFired.withLock { $0 = true }
                    pool.close()
                    return
                }
                if let due = nextRun, now >= due {
                    pool.backgroundRun()
                    // The interval runs from the end of one run to the start of the next.
                    nextRun = MonotonicClock.nanoseconds() + UInt64(interval) * 1_000_000
                }
            }
        }
        return thread
    }

    private func stopTicker(_ thread: CMAPThread) {
        ticker.withLock { $0 = true }
        ticker.broadcast()
        thread.stop()
        _ = thread.join(within: Self.defaultWait)
    }

    // MARK: - Checking

    private func checkError(_ error: OperationError?) -> [String] {
        switch (test.value.error, error) {
        case (nil, nil):
            return []
        case (nil, let error?):
            return ["unexpected error: \(describe(error))"]
        case (let expected?, nil):
            return ["expected an error \(JSONWriter.write(expected)), none was thrown"]
        case (let expected?, let error?):
            guard case .pool(let failure) = error else { return ["expected \(JSONWriter.write(expected)), got \(describe(error))"] }
            let actual: JSONValue = .object([
                ("type", .string(failure.specTypeName)),
                ("message", .string(failure.message(address: address))),
                ("address", .string(address.description)),
            ])
            return cmapMismatch(actual, expected, at: "error").map { [$0] } ?? []
        }
    }

    private func describe(_ error: OperationError) -> String {
        switch error {
        case .pool(let failure): "\(failure.specTypeName): \(failure.message(address: address))"
        case .runner(let text): text
        }
    }

    private func checkEvents(_ all: [ConnectionPoolEvent]) -> [String] {
        let actual = all.filter { !test.value.ignore.contains($0.typeName) }.map(\.cmapJSON)
        for (i, expected) in test.value.events.enumerated() {
            let got = i < actual.count ? actual[i] : nil
            if let why = cmapMismatch(got, expected, at: "events[\(i)]") {
                let list = actual.map { $0["type"]?.stringValue ?? "?" }
                return ["\(why) (events: \(list))"]
            }
        }
        return []
    }
}

/// The parsed file, shared read-only with the runner's threads.
final class CMAPTestBox: @unchecked Sendable {
    /// Never mutated after init.
    let value: CMAPTest
    init(_ value: CMAPTest) { self.value = value }
}

/// A named thread of a CMAP test: runs the operations scheduled on it, in order; the first
/// error ends its work (later operations are dropped) and is kept for `waitForThread`.
final class CMAPThread: Sendable {
    private struct State {
        var queue: [@Sendable () -> (any Error)?] = []
        var running = false
        var stopping = false
        var finished = false
        var error: (any Error)?
    }

    private let state = ConditionLock(State())

    init(name: String) {
        let state = self.state
        let thread = Thread {
            while true {
                let next = state.wait(until: nil) { s -> (@Sendable () -> (any Error)?)?? in
                    if !s.queue.isEmpty {
                        s.running = true
                        return .some(s.queue.removeFirst())
                    }
                    return s.stopping ? .some(nil) : nil
                }
                guard let work = next ?? nil else { break }
                let error = state.withLock { $0.error } == nil ? work() : nil
                state.withLock { s in
                    s.running = false
                    if s.error == nil { s.error = error }
                }
                state.broadcast()
            }
            state.withLock { $0.finished = true }
            state.broadcast()
        }
        thread.name = name
        thread.start()
    }

    /// Queues an operation on the thread.
    func schedule<E: Error>(_ work: @escaping @Sendable () throws(E) -> Void) {
        state.withLock { s in
            s.queue.append {
                do {
                    try work()
                    return nil
                } catch {
                    return error
                }
            }
        }
        state.broadcast()
    }

    /// The thread ends once what is queued is done.
    func stop() {
        state.withLock { $0.stopping = true }
        state.broadcast()
    }

    /// Waits until the thread has done everything scheduled on it so far (`waitForThread`).
    func waitUntilIdle(within limit: Duration) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, limit.inMilliseconds)) * 1_000_000
        return state.wait(until: deadline) { s in (s.queue.isEmpty && !s.running) || s.finished ? true : nil } ?? false
    }

    /// Tells the thread to stop and waits until it has ended.
    func join(within limit: Duration) -> Bool {
        stop()
        let deadline = MonotonicClock.nanoseconds() + UInt64(max(0, limit.inMilliseconds)) * 1_000_000
        return state.wait(until: deadline) { $0.finished ? true : nil } ?? false
    }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// The first error of the thread's operations.
    var error: (any Error)? { state.withLock { $0.error } }
}
