import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with a condition variable whose timed waits run on CLOCK_MONOTONIC
/// (architecture rule 5: a wall-clock jump must not cut or stretch a wait).
///
/// It is the project's one lock. `Synchronization.Mutex` cannot be paired with a condition
/// variable, and ThreadSanitizer on Linux does not see its futex-based locking (it reports the
/// accesses it guards as races), so a pthread mutex is used everywhere. The
/// protected value lives inside; it is reached only through `withLock`, `wait` and `wait(until:)`,
/// which hold the mutex — that is what makes the unchecked Sendable conformance sound.
@_spi(LoopPrimitives) public final class ConditionLock<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        condition.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the mutex held.
    public func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// Wakes every waiter, which then re-checks its condition.
    public func broadcast() {
        pthread_cond_broadcast(condition)
    }

    /// Waits, with the mutex held around each check, until `body` returns a non-nil result or
    /// the monotonic `deadline` (nanoseconds, `MonotonicClock`) passes.
    /// - Returns: the first non-nil result of `body`, or nil on timeout (after one last check).
    public func wait<T>(until deadline: UInt64?, _ body: (inout Value) -> T?) -> T? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while true {
            if let result = body(&value) { return result }
            if let deadline {
                let now = MonotonicClock.nanoseconds()
                if now >= deadline { return nil }
                var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                _ = pthread_cond_timedwait(condition, mutex, &ts)
            } else {
                pthread_cond_wait(condition, mutex)
            }
        }
    }
}

extension ConditionLock where Value == Bool {
    /// Sets the flag and tells whether this call set it: what an idempotent `close()` or
    /// `stop()` asks before doing its work once.
    public func setOnce() -> Bool {
        withLock { flag in
            defer { flag = true }
            return !flag
        }
    }
}
