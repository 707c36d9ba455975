import Dispatch
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
