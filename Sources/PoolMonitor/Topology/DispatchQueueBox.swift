import Dispatch

/// A serial dispatch queue, wrapped so that PoolMonitor's files need not import Dispatch.
struct DispatchQueueBox: Sendable {
    private let queue: DispatchQueue
    /// Marks the queue so that work can tell it runs on it (`isCurrent`).
    private let key = DispatchSpecificKey<Bool>()

    init(label: String) {
        queue = DispatchQueue(label: label)
        queue.setSpecific(key: key, value: true)
    }

    func async(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    /// Runs `work` on the queue once `seconds` have passed.
    func async(after seconds: Double, _ work: @escaping @Sendable () -> Void) {
        queue.asyncAfter(deadline: .now() + seconds, execute: work)
    }

    /// Whether the caller runs on this queue (waiting there for the queue would never end).
    var isCurrent: Bool { DispatchQueue.getSpecific(key: key) == true }
}
