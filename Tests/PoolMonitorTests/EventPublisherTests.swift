import Testing
import Foundation
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The publisher's queue: bounded (heartbeat events dropped and counted past its capacity,
/// every other event kept), drained in batches, drained handlers told what was
/// dropped. No sockets: events are published by hand.
@Suite struct EventPublisherTests {
    let a = ServerAddress(host: "127.0.0.1", port: 27017)

    /// What handlers saw: event names in order, and each drained handler call's drop count.
    final class Seen: Sendable {
        let names = ConditionLock<[String]>([])
        let drains = ConditionLock<[Int]>([])
        init() {}
        /// Attached to `events` at once.
        convenience init(watching events: EventPublisher) {
            self.init()
            attach(to: events)
        }
        func attach(to events: EventPublisher) {
            events.addHandler { event in self.names.withLock { $0.append(event.name) } }
            events.addDrainedHandler { dropped in self.drains.withLock { $0.append(dropped) } }
        }
    }

    /// A handler that blocks delivery until `open()`, as a printer stuck on a full pipe does.
    final class Gate: Sendable {
        let state = ConditionLock<(entered: Bool, open: Bool)>((false, false))
        func pass() {
            state.withLock { $0.entered = true }
            state.broadcast()
            _ = state.wait(until: nil) { $0.open ? true : nil }
        }
        func waitEntered() -> Bool {
            state.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0.entered ? true : nil } ?? false
        }
        func open() {
            state.withLock { $0.open = true }
            state.broadcast()
        }
    }

    @Test("past its capacity the queue drops heartbeats, keeps topology events, and reports the count once")
    func fullQueueDropsHeartbeatsAndReports() {
        let events = EventPublisher(capacity: 10)
        let gate = Gate()
        let seen = Seen()
        events.addHandler { event in if case .sdam(.topologyOpening) = event { gate.pass() } }
        seen.attach(to: events)
        events.publish([.sdam(.topologyOpening)])
        #expect(gate.waitEntered(), "the first event never reached its handler")
        // Delivery is stuck: 10 heartbeats fit, 5 more are dropped, the change is kept.
        for _ in 0..<15 { events.publish([.serverHeartbeatStarted(a, awaited: false)]) }
        events.publish([.sdam(.serverOpening(a))])
        events.publish([.serverHeartbeatStarted(a, awaited: false)])
        gate.open()
        events.flush()
        let names = seen.names.withLock { $0 }
        #expect(names == ["topologyOpening"] + Array(repeating: "serverHeartbeatStarted", count: 10) + ["serverOpening"])
        #expect(seen.drains.withLock { $0 }.reduce(0, +) == 6)
    }

    @Test("with a batching delay, events published together are delivered in one drain, in order")
    func batchingDeliversTogether() {
        let events = EventPublisher(batchingDelaySeconds: 0.2)
        let seen = Seen(watching: events)
        for port in UInt16(1)...100 { events.publish([.sdam(.serverOpening(ServerAddress(host: "h", port: port)))]) }
        events.flush()
        #expect(seen.names.withLock { $0.count } == 100)
        #expect(seen.drains.withLock { $0 } == [0], "a drain per event instead of one per batch")
    }

    @Test("a publisher delivered on the owner's thread is bounded too, and reports on deliverPending")
    func deliverPendingIsBounded() {
        let events = EventPublisher(delivery: .onDeliverPending, capacity: 3)
        let seen = Seen(watching: events)
        for port in UInt16(1)...5 { events.publish([.serverHeartbeatStarted(ServerAddress(host: "h", port: port), awaited: false)]) }
        #expect(seen.names.withLock { $0 }.isEmpty)
        events.deliverPending()
        #expect(seen.names.withLock { $0 } == Array(repeating: "serverHeartbeatStarted", count: 3))
        #expect(seen.drains.withLock { $0 } == [2])
        events.deliverPending()
        #expect(seen.drains.withLock { $0 } == [2], "a drain with nothing to deliver told its handlers")
    }

    @Test("a full queue drops heartbeats whole: an end goes with its start, kept or dropped")
    func heartbeatsAreDroppedInPairs() {
        let events = EventPublisher(delivery: .onDeliverPending, capacity: 2)
        let seen = Seen(watching: events)
        let b = ServerAddress(host: "h", port: 2), c = ServerAddress(host: "h", port: 3)
        events.publish([.serverHeartbeatStarted(a, awaited: false), .serverHeartbeatStarted(b, awaited: false)])
        events.publish([.serverHeartbeatStarted(c, awaited: false)])  // full: dropped
        events.publish([.serverHeartbeatSucceeded(c, durationMS: 1, reply: [:], awaited: false)])  // its end: dropped
        events.publish([.serverHeartbeatSucceeded(a, durationMS: 1, reply: [:], awaited: false)])  // its start was kept: kept
        events.publish([.serverHeartbeatFailed(b, durationMS: 1, error: "x", awaited: false)])
        events.publish([.pool(.connectionCreated(a, connectionId: 1))])  // never dropped
        events.deliverPending()
        #expect(seen.names.withLock { $0 } == ["serverHeartbeatStarted", "serverHeartbeatStarted", "serverHeartbeatSucceeded",
                                               "serverHeartbeatFailed", "connectionCreated"])
        #expect(seen.drains.withLock { $0 } == [2])
    }

    @Test("flush returns once what was published before it is delivered, while events keep coming")
    func flushDoesNotWaitForLaterEvents() {
        let events = EventPublisher()
        let seen = Seen(watching: events)
        let stop = ConditionLock(false)
        let publisher = Thread {
            while !stop.withLock({ $0 }) {
                events.publish([.serverHeartbeatStarted(ServerAddress(host: "busy", port: 1), awaited: false)])
                usleep(100)
            }
        }
        publisher.start()
        defer { stop.withLock { $0 = true } }
        usleep(20_000)
        events.publish([.sdam(.topologyClosed)])
        let start = MonotonicClock.nanoseconds()
        events.flush()
        let ms = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(seen.names.withLock { $0 }.contains("topologyClosed"))
        #expect(ms < 2_000, "flush waited \(ms) ms for a publisher that never stops")
    }

    @Test("deliverPending on a publisher with its own thread flushes it, in order")
    func deliverPendingOnADedicatedThreadFlushes() {
        let events = EventPublisher()
        let seen = Seen(watching: events)
        for port in UInt16(1)...50 { events.publish([.sdam(.serverOpening(ServerAddress(host: "h", port: port)))]) }
        events.deliverPending()
        #expect(seen.names.withLock { $0 } == Array(repeating: "serverOpening", count: 50))
    }
}
