/// Deadlines for waiting tasks, kept in one min-heap and fired by one libev timer on a loop:
/// ten thousand waiting selections cost ten thousand heap entries and one timer, not a thread
/// or a sleeping task each.
///
/// `schedule` and `cancel` may be called from any thread. The loop is woken only when a new
/// deadline is earlier than the one its timer is armed for; callbacks run on the loop thread,
/// outside the lock, in deadline order, and must be short (they resume a waiter or feed a state
/// machine).
@_spi(LoopPrimitives) public final class LoopDeadlines: Sendable {
    public struct Token: Sendable, Hashable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        var deadline: UInt64
        var id: UInt64
    }

    private struct State {
        var heap: [Entry] = []
        var callbacks: [UInt64: @Sendable () -> Void] = [:]
        var nextID: UInt64 = 1
        /// The deadline the loop's timer is armed for (nil: not armed).
        var armedFor: UInt64?
        var closed = false
    }

    private let loop: MonitorLoop
    private let state = ConditionLock(State())
    private let timer: LoopBound<TimerWatcher?>

    public init(loop: MonitorLoop) {
        self.loop = loop
        timer = LoopBound(nil, loop: loop)
    }

    /// Calls `fire` on the loop thread at `deadline` (MonotonicClock nanoseconds), unless
    /// cancelled first. After `close()` nothing fires.
    public func schedule(at deadline: UInt64, _ fire: @escaping @Sendable () -> Void) -> Token {
        let (id, rearm) = state.withLock { s -> (UInt64, Bool) in
            let id = s.nextID
            s.nextID += 1
            guard !s.closed else { return (id, false) }
            s.callbacks[id] = fire
            Self.push(Entry(deadline: deadline, id: id), into: &s.heap)
            guard s.armedFor.map({ deadline < $0 }) ?? true else { return (id, false) }
            s.armedFor = deadline
            return (id, true)
        }
        if rearm { loop.execute { [self] in armTimer() } }
        return Token(id: id)
    }

    /// Forgets a deadline (its heap entry goes when it comes up).
    public func cancel(_ token: Token) {
        state.withLock { _ = $0.callbacks.removeValue(forKey: token.id) }
    }

    /// Deadlines waiting to fire (for tests).
    public var pendingCount: Int { state.withLock { $0.callbacks.count } }

    /// Drops every deadline and stops the timer (before the loop shuts down).
    public func close() {
        state.withLock { s in
            s.closed = true
            s.callbacks.removeAll()
            s.heap.removeAll()
            s.armedFor = nil
        }
        loop.execute { [self] in
            timer.value?.stop()
            timer.value = nil
        }
    }

    /// On the loop: fires what is due, then arms the timer for the earliest deadline left.
    private func armTimer() {
        let now = MonotonicClock.nanoseconds()
        let (due, next) = state.withLock { s -> ([@Sendable () -> Void], UInt64?) in
            var due: [@Sendable () -> Void] = []
            while let first = s.heap.first, first.deadline <= now || s.callbacks[first.id] == nil {
                Self.popFirst(from: &s.heap)
                if first.deadline <= now, let fire = s.callbacks.removeValue(forKey: first.id) { due.append(fire) }
            }
            s.armedFor = s.heap.first?.deadline
            return (due, s.armedFor)
        }
        for fire in due { fire() }
        guard let next else {
            timer.value?.stop()
            return
        }
        let watcher = timer.value ?? TimerWatcher(loop: loop) { [unowned self] in armTimer() }
        timer.value = watcher
        watcher.start(after: next > now ? Double(next - now) / 1e9 : 0)
    }

    // MARK: - The heap

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func popFirst(from heap: inout [Entry]) {
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
