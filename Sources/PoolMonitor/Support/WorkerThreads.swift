import CLibev
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of threads of this driver's own for blocking work off the loop (name lookups,
/// populating connection pools), fed from one FIFO queue.
///
/// Not Dispatch's shared pool: an application (or a test runner) that blocks that pool's few
/// threads would delay a monitor's lookup or a pool's minPoolSize connections by seconds, and a
/// blocking job must not take a thread from the application either. The threads start on first
/// use and live as long as the process, as Dispatch's do; `count` bounds them.
@_spi(LoopPrimitives) public final class WorkerThreads: Sendable {
    /// The process's workers: four threads named "sdam-worker".
    public static let shared = WorkerThreads(count: 4, name: "sdam-worker")

    private struct State {
        var jobs: [@Sendable () -> Void] = []
        var started = 0
        var idle = 0
    }

    public let count: Int
    private let name: String
    private let state = ConditionLock(State())

    public init(count: Int, name: String) {
        self.count = max(1, count)
        self.name = name
    }

    /// Runs `job` on one of the threads, after the jobs submitted before it.
    public func submit(_ job: @escaping @Sendable () -> Void) {
        let startOne = state.withLock { s -> Bool in
            s.jobs.append(job)
            guard s.idle < s.jobs.count, s.started < count else { return false }
            s.started += 1
            return true
        }
        state.broadcast()
        if startOne { startThread() }
    }

    /// Runs `job` on a new detached thread of its own (named `name`): for rare blocking work
    /// that must not wait behind the queue, such as a pool's close joining its threads for a
    /// task. Without a thread it runs on the caller.
    public static func runDetached(name: String, _ job: @escaping @Sendable () -> Void) {
        if !spawn(name: name, job) { job() }
    }

    /// Starts a detached thread named `name` running `job`; false when no thread could start.
    private static func spawn(name: String, _ job: @escaping @Sendable () -> Void) -> Bool {
        final class Job: Sendable {
            let name: String
            let run: @Sendable () -> Void
            init(name: String, run: @escaping @Sendable () -> Void) {
                self.name = name
                self.run = run
            }
        }
        let box = Unmanaged.passRetained(Job(name: name, run: job))
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
            _ = clibev_set_current_thread_name(String(decoding: job.name.utf8.prefix(15), as: UTF8.self))
            job.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            return false
        }
        pthread_detach(tid)
        return true
    }

    private func startThread() {
        guard !Self.spawn(name: name, { [self] in run() }) else { return }
        // No thread: run the queue on the caller rather than lose the jobs.
        state.withLock { $0.started -= 1 }
        while let job = state.withLock({ s -> (@Sendable () -> Void)? in s.jobs.isEmpty ? nil : s.jobs.removeFirst() }) { job() }
    }

    private func run() {
        while true {
            state.withLock { $0.idle += 1 }
            let job = state.wait(until: nil) { s -> (@Sendable () -> Void)? in
                guard !s.jobs.isEmpty else { return nil }
                s.idle -= 1
                return s.jobs.removeFirst()
            }
            job?()
        }
    }
}
