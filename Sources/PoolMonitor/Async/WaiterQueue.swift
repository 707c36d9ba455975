/// Waiting tasks in arrival order, for an owner to keep under its lock: append, take the
/// first, or withdraw any one (a cancelled task) in O(1), so that cancelling thousands of
/// waiters costs thousands of steps, not millions.
@_spi(LoopPrimitives) public struct WaiterQueue<Value: Sendable>: Sendable {
    private var waiters: [UInt64: AsyncWaiter<Value>] = [:]
    /// Ids in arrival order from `head` on; withdrawn ones are skipped when met.
    private var order: [UInt64] = []
    private var head = 0
    private var nextID: UInt64 = 1

    public init() {}

    public var count: Int { waiters.count }
    public var isEmpty: Bool { waiters.isEmpty }

    /// Adds a waiter at the end; its id withdraws it.
    public mutating func append(_ waiter: AsyncWaiter<Value>) -> UInt64 {
        let id = nextID
        nextID += 1
        waiters[id] = waiter
        order.append(id)
        return id
    }

    /// Withdraws a waiter (nothing if it already left).
    public mutating func remove(_ id: UInt64) {
        waiters[id] = nil
        if waiters.isEmpty {
            order.removeAll(keepingCapacity: true)
            head = 0
        }
    }

    /// Takes the waiter that came first.
    public mutating func popFirst() -> AsyncWaiter<Value>? {
        while head < order.count {
            let id = order[head]
            head += 1
            if let waiter = waiters.removeValue(forKey: id) {
                compact()
                return waiter
            }
        }
        compact()
        return nil
    }

    /// Takes every waiter, in arrival order.
    public mutating func removeAll() -> [AsyncWaiter<Value>] {
        let all = order[head...].compactMap { waiters[$0] }
        waiters.removeAll()
        order.removeAll()
        head = 0
        return all
    }

    private mutating func compact() {
        guard head > 1_024, head * 2 > order.count else { return }
        order.removeFirst(head)
        head = 0
    }
}
