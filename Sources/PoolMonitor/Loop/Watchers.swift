import MongoBSON
import SDAMCore
import MongoWire
import CLibev

/// A libev I/O watcher on one file descriptor, calling a Swift closure.
///
/// Loop-confined: create, start, stop and drop it on the loop thread only. The ev_io struct
/// lives in its own allocation so that its address is stable while libev holds it.
package final class IOWatcher {
    package struct Events: OptionSet, Sendable {
        package let rawValue: Int32
        package init(rawValue: Int32) { self.rawValue = rawValue }
        package static let read = Events(rawValue: clibev_read())
        package static let write = Events(rawValue: clibev_write())
    }

    private let loop: MonitorLoop
    private let watcher: UnsafeMutablePointer<ev_io>
    private let onEvent: (Events) -> Void
    package let fd: Int32
    package private(set) var events: Events

    /// - Parameter onEvent: called on the loop thread with the events that fired.
    package init(loop: MonitorLoop, fd: Int32, events: Events, onEvent: @escaping (Events) -> Void) {
        loop.preconditionInLoop()
        self.loop = loop
        self.fd = fd
        self.events = events
        self.onEvent = onEvent
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_io())
        clibev_io_init(watcher, { _, w, revents in
            guard let w, let data = clibev_io_data(w) else { return }
            let me = Unmanaged<IOWatcher>.fromOpaque(data).takeUnretainedValue()
            me.onEvent(Events(rawValue: revents))
        }, fd, events.rawValue)
        clibev_io_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    package var isActive: Bool { clibev_io_is_active(watcher) != 0 }

    package func start() {
        if !isActive { ev_io_start(loop.rawLoop, watcher) }
    }

    package func stop() {
        ev_io_stop(loop.rawLoop, watcher)
    }

    /// Changes the events watched (libev requires the watcher stopped while it changes).
    package func set(events: Events) {
        guard events != self.events else { return }
        let wasActive = isActive
        stop()
        self.events = events
        clibev_io_set(watcher, fd, events.rawValue)
        if wasActive { start() }
    }

    /// Makes libev invoke this watcher before others of lower priority that are pending in
    /// the same loop turn (libev's range is -2...2; 0 by default). All pending watchers still
    /// run in the turn: the priority orders them, it starves none.
    package func set(priority: Int32) {
        let wasActive = isActive
        stop()
        clibev_io_set_priority(watcher, priority)
        if wasActive { start() }
    }

    deinit {
        // A started watcher must not outlive its memory: stop it (on the loop thread).
        if clibev_io_is_active(watcher) != 0 || clibev_io_is_pending(watcher) != 0 {
            ev_io_stop(loop.rawLoop, watcher)
        }
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }
}

/// A one-shot libev timer calling a Swift closure; re-arm it with `start(after:)`.
/// Loop-confined, like `IOWatcher`.
package final class TimerWatcher {
    private let loop: MonitorLoop
    private let watcher: UnsafeMutablePointer<ev_timer>
    private let onFire: () -> Void

    package init(loop: MonitorLoop, onFire: @escaping () -> Void) {
        loop.preconditionInLoop()
        self.loop = loop
        self.onFire = onFire
        watcher = .allocate(capacity: 1)
        watcher.initialize(to: ev_timer())
        clibev_timer_init(watcher, { _, w, _ in
            guard let w, let data = clibev_timer_data(w) else { return }
            Unmanaged<TimerWatcher>.fromOpaque(data).takeUnretainedValue().onFire()
        }, 0, 0)
        clibev_timer_set_data(watcher, Unmanaged.passUnretained(self).toOpaque())
    }

    package var isActive: Bool { clibev_timer_is_active(watcher) != 0 }

    /// (Re)starts the timer to fire once, `seconds` from the loop's current time.
    package func start(after seconds: Double) {
        let raw = loop.rawLoop
        ev_timer_stop(raw, watcher)
        clibev_timer_set(watcher, max(0, seconds), 0)
        ev_timer_start(raw, watcher)
    }

    /// (Re)starts the timer for an instant on the monotonic clock (nanoseconds), as the pure
    /// state machines return deadlines; an instant already past fires in the next iteration.
    ///
    /// libev adds a delay to its cached loop time, which is as old as the loop iteration: with
    /// thousands of servers an iteration handles hundreds of replies, and a timer armed late in
    /// it by the delay alone fires that much early, finds its check not due and is armed again
    /// (40% of the checks of 10,000 mongos at 500 ms took two fires so). The loop's time is
    /// brought up to date (one vDSO clock read; libev's clock is CLOCK_MONOTONIC too).
    /// - Parameter slackSeconds: added to the delay where exactness does not matter: libev's
    ///   epoll waits in whole milliseconds, and a little slack keeps a wake-up from landing a
    ///   hair before the instant.
    package func start(at instant: UInt64, slackSeconds: Double = 0) {
        // Our clock first: libev's, read after, is no earlier, so the timer fires no earlier.
        let now = MonotonicClock.nanoseconds()
        ev_now_update(loop.rawLoop)
        start(after: (instant > now ? Double(instant - now) / 1e9 : 0) + slackSeconds)
    }

    package func stop() {
        ev_timer_stop(loop.rawLoop, watcher)
    }

    deinit {
        if clibev_timer_is_active(watcher) != 0 || clibev_timer_is_pending(watcher) != 0 {
            ev_timer_stop(loop.rawLoop, watcher)
        }
        watcher.deinitialize(count: 1)
        watcher.deallocate()
    }
}
