import Dispatch
import Foundation
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The monitoring spec's event order: every started heartbeat ends, and no heartbeat event of a
/// server follows its ServerClosedEvent; and a handler may flush its own publisher.
@Suite struct EventOrderTests {
    /// The delivery thread is made with the first handler: a publisher nobody listens to
    /// flushes at once, and a handler added later sees what is published after it, in order.
    @Test func aPublisherMakesItsDeliveryThreadWithItsFirstHandler() {
        let events = EventPublisher()
        events.publish([.sdam(.topologyOpening)])
        events.flush()
        let seen = ConditionLock<[String]>([])
        events.addHandler { event in seen.withLock { $0.append("\(event)") } }
        events.publish([.sdam(.topologyOpening), .sdam(.topologyClosed)])
        events.flush()
        #expect(seen.withLock { $0 }.count == 2)
        #expect(seen.withLock { $0 }.first?.contains("topologyOpening") == true)
    }

    typealias F = SDAMFixtures

    /// Event names with their server, in delivery order.
    final class Recorder: Sendable {
        let lines = ConditionLock<[String]>([])
        func record(_ event: MonitoringEvent) {
            let line: String
            switch event {
            case .sdam(.serverClosed(let a)): line = "serverClosed \(a)"
            case .sdam(.serverOpening(let a)): line = "serverOpening \(a)"
            case .sdam, .pool, .srv: line = event.name
            case .serverHeartbeatStarted(let a, _): line = "started \(a)"
            case .serverHeartbeatSucceeded(let a, _, _, _): line = "succeeded \(a)"
            case .serverHeartbeatFailed(let a, _, _, _): line = "failed \(a)"
            }
            lines.withLock { $0.append(line) }
        }
    }

    @Test("a server removed while its check is in flight: its heartbeat fails before serverClosed, and nothing of it follows")
    func abandonedHeartbeatEndsBeforeServerClosed() {
        let events = EventPublisher()
        let recorder = Recorder()
        events.addHandler { recorder.record($0) }
        let topology = Topology(settings: TopologySettings(seeds: [F.address("a:27017"), F.address("b:27017")], replicaSet: "rs"), events: events)
        topology.open()
        topology.publish([.serverHeartbeatStarted(F.address("b:27017"), awaited: true)])
        // The primary's reply no longer lists b: b is removed while its awaited check is out.
        topology.apply(F.description("a:27017", F.primary(hosts: ["a:27017"])))
        // The loop stops b's monitor after that transition; its abandoned check reports then.
        topology.publish([.serverHeartbeatFailed(F.address("b:27017"), durationMS: 1, error: "cancelled", awaited: true)])
        events.flush()
        let lines = recorder.lines.withLock { $0 }.filter { $0.hasSuffix("b:27017") }
        #expect(lines == ["serverOpening b:27017", "started b:27017", "failed b:27017", "serverClosed b:27017"])
    }

    /// The ports of the heartbeat-started events a handler received, in order.
    final class PortRecorder: Sendable {
        let ports = ConditionLock<[UInt16]>([])
        func record(_ event: MonitoringEvent) {
            guard case .serverHeartbeatStarted(let address, _) = event else { return }
            ports.withLock { $0.append(address.port) }
            ports.broadcast()
        }
        /// Waits (at most 5 s, without flush) until `count` events arrived.
        func wait(for count: Int) -> Bool {
            ports.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0.count >= count ? true : nil } == true
        }
    }

    static func started(_ port: Int) -> MonitoringEvent {
        .serverHeartbeatStarted(ServerAddress(host: "h", port: UInt16(port)), awaited: false)
    }

    @Test("a burst is delivered in order; an event after the drain has ended, and one while it lingers, each arrive without a flush")
    func burstsAndLoneEventsArrive() {
        let events = EventPublisher()
        let recorder = PortRecorder()
        events.addHandler { recorder.record($0) }
        for port in 1...5000 { events.publish([Self.started(port)]) }
        #expect(recorder.wait(for: 5000))
        #expect(recorder.ports.withLock { $0 } == Array(1...5000))
        // Well past the linger: the drain has ended, so this one queues a new drain.
        let linger = Double(EventPublisher.lingerNS) / 1e9
        Thread.sleep(forTimeInterval: linger * 20)
        events.publish([Self.started(5001)])
        #expect(recorder.wait(for: 5001), "an event published after the drain ended was not delivered")
        // Just after a delivery, while the drain lingers: it takes this one.
        events.publish([Self.started(5002)])
        #expect(recorder.wait(for: 5002), "an event published while the drain lingered was not delivered")
        #expect(recorder.ports.withLock { $0 }.suffix(2) == [5001, 5002])
    }

    @Test("events from several threads all arrive, each thread's in its order, and flush() waits for them")
    func concurrentPublishersKeepTheirOrder() {
        let events = EventPublisher()
        let recorder = PortRecorder()
        events.addHandler { recorder.record($0) }
        let threads = 4, each = 2000
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for i in 0..<each { events.publish([Self.started(thread * 10_000 + i)]) }
        }
        events.flush()
        let ports = recorder.ports.withLock { $0 }
        #expect(ports.count == threads * each)
        for thread in 0..<threads {
            let mine = ports.filter { Int($0) / 10_000 == thread }.map { Int($0) % 10_000 }
            #expect(mine == Array(0..<each), "thread \(thread)'s events out of order or missing")
        }
    }

    @Test("flush() called from a handler returns instead of waiting for itself")
    func flushFromAHandlerReturns() {
        let events = EventPublisher()
        let returned = ConditionLock(false)
        events.addHandler { _ in
            events.flush()
            returned.withLock { $0 = true }
            returned.broadcast()
        }
        events.publish([.sdam(.topologyOpening)])
        let ok = returned.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0 ? true : nil }
        #expect(ok == true, "the handler's flush() never returned")
    }
}
