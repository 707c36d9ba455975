import MongoBSON
import SDAMCore
import MongoWire
import Dispatch

/// A serial dispatch queue, wrapped so that PoolMonitor's files need not import Dispatch.
struct DispatchQueueBox: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func async(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }

    func sync(_ work: () -> Void) {
        queue.sync(execute: work)
    }
}
