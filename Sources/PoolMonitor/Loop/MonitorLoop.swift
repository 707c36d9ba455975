import CLibev

#if canImport(Glibc)
import Glibc
#endif

/// One libev loop (epoll backend) running on its own thread, or on the caller's.
///
/// Other threads talk to it only through `execute(_:)`: a locked inbox plus `ev_async_send`,
/// the one libev call that is safe from any thread (architecture rule 1). Everything else —
/// watchers, sockets, monitors — is created and used on the loop thread.
///
/// Made with `.callersThread`, it has no thread: whoever calls `run(until:_:)` is the loop
/// thread for as long as the call lasts (a client without a background thread runs its scan
/// that way, with the same watchers and monitors as the pooled mode).
@_spi(LoopPrimitives) public final class MonitorLoop: Sendable {
    /// The libev loop. Touched only on the loop thread, except `ev_async_send` on `wakeup`.
    private nonisolated(unsafe) let loop: OpaquePointer
    /// The async watcher that wakes the loop to drain the inbox (libev allows `ev_async_send`
    /// from any thread).
    private nonisolated(unsafe) let wakeup: UnsafeMutablePointer<ev_async>
    /// A pthread mutex rather than `Synchronization.Mutex`: ThreadSanitizer on Linux does not
    /// see the latter's locking and reports its accesses as races.
    private let inbox = ConditionLock<Inbox>(Inbox())
    private let threadID = ConditionLock<pthread_t?>(nil)

    /// Where the loop runs.
    public enum Threading: Sendable, Equatable {
        /// On a thread the loop starts, until `shutdown()`.
        case ownThread
        /// On the thread that calls `run(until:_:)`, for as long as it runs.
        case callersThread
    }

    public let threading: Threading
    /// `.callersThread`: a `run(until:_:)` is in progress.
    private let running = ConditionLock(false)

    private struct Inbox {
        var work: [@Sendable () -> Void] = []
        var stopRequested = false
        /// The libev loop and its descriptors were released (after the thread was joined).
        var destroyed = false
    }

    /// Why a loop could not be created.
    public struct CreationError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Creates the loop and starts its thread. No network I/O.
    /// - Parameter name: the thread's name (at most 15 characters are kept), for debugging.
    /// - Throws: `CreationError` when libev or the thread cannot be started.
    public init(name: String = "sdam-loop", threading: Threading = .ownThread) throws {
        self.threading = threading
        guard let loop = ev_loop_new(clibev_epoll_flags()) ?? ev_loop_new(0) else {
            throw CreationError(description: "libev could not create a loop (ev_loop_new failed)")
        }
        self.loop = loop
        wakeup = .allocate(capacity: 1)
        wakeup.initialize(to: ev_async())
        clibev_async_init(wakeup) { loop, watcher, _ in
            guard let watcher, let data = clibev_async_data(watcher) else { return }
            Unmanaged<MonitorLoop>.fromOpaque(data).takeUnretainedValue().drainInbox()
        }
        // The async watcher refers back without retaining: the loop thread ends in `shutdown`
        // (or deinit) before `self` is freed.
        clibev_async_set_data(wakeup, Unmanaged.passUnretained(self).toOpaque())
        ev_async_start(loop, wakeup)
        guard threading == .ownThread else { return }

        let box = Unmanaged.passRetained(ThreadStart(loop: self, name: name))
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            let start = Unmanaged<ThreadStart>.fromOpaque(raw!).takeRetainedValue()
            start.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            ev_async_stop(loop, wakeup)
            ev_loop_destroy(loop)
            wakeup.deallocate()
            throw CreationError(description: "could not start the loop thread: pthread_create returned \(rc)")
        }
        threadID.withLock { $0 = tid }
    }

    /// What the new thread runs: names itself, then `ev_run` until `shutdown`.
    private final class ThreadStart: @unchecked Sendable {
        // Safety: handed from the creating thread to the new thread once, never shared after.
        let loop: MonitorLoop
        let name: String
        init(loop: MonitorLoop, name: String) {
            self.loop = loop
            self.name = name
        }
        func run() {
            _ = clibev_set_current_thread_name(String(decoding: name.utf8.prefix(15), as: UTF8.self))
            loop.runOnThread()
        }
    }

    private static let currentLoopKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private func runOnThread() {
        DiscoveryTrace.mark("loop: thread runs")
        pthread_setspecific(MonitorLoop.currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
        // Work posted before the thread started is waiting in the inbox.
        drainInbox()
        ev_run(loop, 0)
        pthread_setspecific(MonitorLoop.currentLoopKey, nil)
    }

    /// Runs the loop on the calling thread until `condition` holds (checked after every loop
    /// iteration, and first before any) or the monotonic `deadline` (nanoseconds) passes.
    /// Only for a `.callersThread` loop; not re-entrant.
    /// - Returns: whether `condition` held.
    @discardableResult
    public func run(until deadline: UInt64?, _ condition: () -> Bool) -> Bool {
        onCallersThread {
            // A timer wakes ev_run at the deadline; without one ev_run waits for the next event.
            var deadlineTimer: TimerWatcher?
            if let deadline {
                let timer = TimerWatcher(loop: self) {}
                let nowNS = MonotonicClock.nanoseconds()
                timer.start(after: deadline > nowNS ? Double(deadline - nowNS) / 1e9 : 0)
                deadlineTimer = timer
            }
            defer { deadlineTimer?.stop() }
            while !condition() {
                if let deadline, MonotonicClock.nanoseconds() >= deadline { return condition() }
                if inbox.withLock({ $0.stopRequested }) { return condition() }
                ev_run(loop, Int32(EVRUN_ONCE))
            }
            return true
        }
    }

    /// Runs `body` on the calling thread as the loop thread, after the work posted so far, and
    /// returns: for setting watchers up (starting checks, sending a message) before
    /// `run(until:_:)` waits for them. Only for a `.callersThread` loop; not re-entrant.
    public func perform<T>(_ body: () -> T) -> T {
        onCallersThread(body)
    }

    /// Handles the events already pending on the loop's descriptors and timers, without
    /// waiting (a connection the server closed while nobody ran the loop, say). Only for a
    /// `.callersThread` loop; not re-entrant.
    public func poll() {
        _ = onCallersThread { ev_run(loop, Int32(EVRUN_NOWAIT)) }
    }

    /// Makes the calling thread the loop thread while `body` runs (`.callersThread` only).
    private func onCallersThread<T>(_ body: () -> T) -> T {
        precondition(threading == .callersThread, "run(until:), perform and poll are for a loop made with .callersThread")
        precondition(running.setOnce(), "a .callersThread MonitorLoop is not re-entrant (run(until:), perform, poll)")
        defer { running.withLock { $0 = false } }
        let previous = pthread_getspecific(MonitorLoop.currentLoopKey)
        pthread_setspecific(MonitorLoop.currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
        defer { pthread_setspecific(MonitorLoop.currentLoopKey, previous) }
        // libev measures timers from the loop's cached "now", which went stale while nobody ran
        // this loop: refresh it, or a timer armed now fires early.
        ev_now_update(loop)
        drainInbox()
        return body()
    }

    /// Whether the calling thread is this loop's thread.
    public var inLoop: Bool {
        pthread_getspecific(MonitorLoop.currentLoopKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    public func preconditionInLoop(file: StaticString = #fileID, line: UInt = #line) {
        precondition(inLoop, "loop-confined state touched off the loop thread", file: file, line: line)
    }

    /// The raw libev loop, for watchers. Loop thread only.
    var rawLoop: OpaquePointer {
        preconditionInLoop()
        return loop
    }

    /// Runs `work` on the loop thread, after the work posted before it.
    /// - Returns: false when the loop has shut down and the work was dropped.
    @discardableResult
    public func execute(_ work: @escaping @Sendable () -> Void) -> Bool {
        // The wake-up is sent under the inbox lock, so `shutdown` cannot release the loop
        // between the check and the send.
        inbox.withLock { inbox -> Bool in
            guard !inbox.stopRequested else { return false }
            inbox.work.append(work)
            ev_async_send(loop, wakeup)
            return true
        }
    }

    /// Names the loop's thread `name` (at most 15 characters are kept), in its next turn: a
    /// loop started before its owner knew the name (`ClientPool` starts it while it parses
    /// the connection string).
    public func nameThread(_ name: String) {
        guard threading == .ownThread else { return }
        let kept = String(decoding: name.utf8.prefix(15), as: UTF8.self)
        execute { _ = clibev_set_current_thread_name(kept) }
    }

    private func drainInbox() {
        while true {
            let (batch, stop) = inbox.withLock { inbox -> ([@Sendable () -> Void], Bool) in
                defer { inbox.work.removeAll(keepingCapacity: true) }
                return (inbox.work, inbox.stopRequested)
            }
            if batch.isEmpty {
                if stop { ev_break(loop, Int32(EVBREAK_ALL)) }
                return
            }
            for work in batch { work() }
        }
    }

    /// Stops the loop after the work already posted, and joins its thread. Watchers still
    /// started are abandoned by libev's `ev_loop_destroy`: owners must stop them first (the
    /// monitor does, in work it posts before calling this). Safe to call more than once and from
    /// any thread except the loop's own.
    public func shutdown() {
        precondition(!inLoop, "MonitorLoop.shutdown() called on its own thread would deadlock")
        if threading == .callersThread {
            // No thread to join: run the work posted before this call, then release the loop.
            let first = inbox.withLock { inbox -> Bool in
                defer { inbox.stopRequested = true }
                return !inbox.stopRequested
            }
            guard first else { return }
            let previous = pthread_getspecific(MonitorLoop.currentLoopKey)
            pthread_setspecific(MonitorLoop.currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
            drainInbox()
            pthread_setspecific(MonitorLoop.currentLoopKey, previous)
            releaseLoop()
            return
        }
        let first = inbox.withLock { inbox -> Bool in
            defer { inbox.stopRequested = true }
            if !inbox.stopRequested { ev_async_send(loop, wakeup) }
            return !inbox.stopRequested
        }
        waitForThread()
        guard first else { return }
        releaseLoop()
    }

    /// Whether libev's loop and its descriptors (epoll, eventfd) have been released.
    package var isReleased: Bool { inbox.withLock { $0.destroyed } }

    /// Frees libev's loop and its descriptors (epoll, eventfd) once the thread has ended, so a
    /// closed pool holds no descriptor even while something still references this object.
    private func releaseLoop() {
        inbox.withLock { inbox in
            guard !inbox.destroyed else { return }
            inbox.destroyed = true
            ev_async_stop(loop, wakeup)
            ev_loop_destroy(loop)
        }
    }

    private func waitForThread() {
        let tid = threadID.withLock { tid -> pthread_t? in
            defer { tid = nil }
            return tid
        }
        if let tid { pthread_join(tid, nil) }
    }

    /// The loop thread holds a strong reference until `ev_run` returns, so a loop is freed only
    /// after `shutdown()`: a loop nobody shuts down keeps its thread, like an unclosed file.
    deinit {
        let destroyed = inbox.withLock { $0.destroyed }
        if !destroyed {
            ev_async_stop(loop, wakeup)
            ev_loop_destroy(loop)
        }
        wakeup.deinitialize(count: 1)
        wakeup.deallocate()
    }
}
