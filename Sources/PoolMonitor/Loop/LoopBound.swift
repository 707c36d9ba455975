import MongoBSON
import SDAMCore
import MongoWire


/// A value that belongs to one `MonitorLoop` and may be touched only on that loop's thread.
///
/// Monitors, watchers and sockets are loop-confined (architecture rule 1); closures posted to
/// the loop from other threads must still be `@Sendable`, so they carry the loop-confined state
/// in this box. Safety: every access checks, with a precondition, that it runs on the owning
/// loop's thread, so the unchecked Sendable conformance cannot be used to race.
package final class LoopBound<Value>: @unchecked Sendable {
    private var storage: Value
    package let loop: MonitorLoop

    package init(_ value: Value, loop: MonitorLoop) {
        self.storage = value
        self.loop = loop
    }

    package var value: Value {
        get {
            loop.preconditionInLoop()
            return storage
        }
        _modify {
            loop.preconditionInLoop()
            yield &storage
        }
    }
}
