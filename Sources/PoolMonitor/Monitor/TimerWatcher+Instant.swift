import MongoBSON
import SDAMCore
import MongoWire

extension TimerWatcher {
    /// (Re)starts the timer for an instant on the monotonic clock, as the pure state machines
    /// return deadlines; an instant already past fires in the next loop iteration.
    /// - Parameter slackSeconds: added to the delay. libev measures from its cached loop time,
    ///   so a timer can fire a hair before the instant by our clock; the machines re-arm when it
    ///   does, and a little slack saves that wasted wake-up where exactness does not matter.
    func start(at instant: UInt64, slackSeconds: Double = 0) {
        let now = MonotonicClock.nanoseconds()
        start(after: (instant > now ? Double(instant - now) / 1e9 : 0) + slackSeconds)
    }
}
