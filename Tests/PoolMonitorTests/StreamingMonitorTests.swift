import Foundation
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The streaming protocol on the one loop: awaitable hello against a server that pushes its
/// changes, an RTT monitor on a second connection, and `serverMonitoringMode`.
@Suite(.serialized) struct StreamingMonitorTests {
    /// A server state with a topologyVersion; awaitable hellos wait for a change (bounded).
    final class StreamingServerState: Sendable {
        let processId = BSONObjectID(hex: "0123456789abcdef01234567")!
        private let state = ConditionLock((counter: Int64(0), writable: true))

        func change(writable: Bool) {
            state.withLock { $0.counter += 1; $0.writable = writable }
            state.broadcast()
        }

        func reply(to request: BSONDocument) -> BSONDocument {
            if let tv = request["topologyVersion"]?.documentValue, let counter = tv["counter"]?.int64Value,
               let maxAwait = request["maxAwaitTimeMS"]?.int64Value {
                let deadline = MonotonicClock.nanoseconds() + UInt64(min(maxAwait, 2_000)) * 1_000_000
                _ = state.wait(until: deadline) { $0.counter > counter ? true : nil }
            }
            let (counter, writable) = state.withLock { ($0.counter, $0.writable) }
            return [
                "isWritablePrimary": .bool(writable), "secondary": .bool(!writable), "setName": .string("rs"),
                "hosts": .array([.string("127.0.0.1:\(port)")]),
                "topologyVersion": .document(["processId": .objectID(processId), "counter": .int64(counter)]),
                "helloOk": .bool(true), "minWireVersion": .int32(0), "maxWireVersion": .int32(21), "ok": .double(1),
            ]
        }

        /// Set once, before any client connects (the server must exist to know its port).
        nonisolated(unsafe) var port: UInt16 = 0
    }

    static func waitFor(_ topology: Topology, seconds: Double = 10, _ condition: (TopologyDescription) -> Bool) -> TopologyDescription? {
        TopologyMonitorTests.waitFor(topology, seconds: seconds, condition)
    }

    @Test func streamingSeesAChangeAtOnceWithATenSecondHeartbeat() throws {
        let state = StreamingServerState()
        let server = try FakeMongoServer { state.reply(to: $0) }
        state.port = server.port
        defer { server.stop() }
        let awaited = ConditionLock(0)
        let events = EventPublisher()
        events.addHandler { event in
            if case .serverHeartbeatSucceeded(_, _, _, true) = event { awaited.withLock { $0 += 1 } }
        }
        let settings = TopologySettings(seeds: [server.address], replicaSet: "rs")
        let monitor = try TopologyMonitor(settings: settings, options: MonitorOptions(serverMonitoringMode: .stream), events: events)
        defer { monitor.close() }
        #expect(Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .rsPrimary } != nil)
        // Wait until the awaitable hello is out, then change the server.
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while monitor.onLoop({ $0?.monitor(for: server.address)?.isStreaming }) != true, MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        Thread.sleep(forTimeInterval: 0.05)
        let changed = MonotonicClock.nanoseconds()
        state.change(writable: false)
        let seen = Self.waitFor(monitor.topology, seconds: 5) { $0.servers[server.address]?.type == .rsSecondary }
        let elapsedMS = Double(MonotonicClock.nanoseconds() - changed) / 1e6
        #expect(seen != nil)
        #expect(elapsedMS < 100, "the pushed change took \(elapsedMS) ms to reach the topology")
        events.flush()
        #expect(awaited.withLock { $0 } >= 1, "the change arrived as an awaited heartbeat")
    }

    @Test func rttMonitorMeasuresOnASecondConnection() throws {
        let state = StreamingServerState()
        let server = try FakeMongoServer { state.reply(to: $0) }
        state.port = server.port
        defer { server.stop() }
        let settings = TopologySettings(seeds: [server.address], replicaSet: "rs", heartbeatFrequencyMS: 500)
        let monitor = try TopologyMonitor(settings: settings, options: MonitorOptions(serverMonitoringMode: .stream))
        defer { monitor.close() }
        #expect(Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .rsPrimary } != nil)
        let deadline = MonotonicClock.nanoseconds() + 5_000_000_000
        while (monitor.onLoop({ $0?.monitor(for: server.address)?.rttSamples }) ?? 0) ?? 0 < 2, MonotonicClock.nanoseconds() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect((monitor.onLoop({ $0?.monitor(for: server.address)?.rttSamples }) ?? 0) ?? 0 >= 2)
        #expect(ResourceCounts.openConnections(toPort: server.port) == 2, "one streaming and one RTT connection")
    }

    @Test func pollModeNeverStreams() throws {
        let state = StreamingServerState()
        let server = try FakeMongoServer { state.reply(to: $0) }
        state.port = server.port
        defer { server.stop() }
        let settings = TopologySettings(seeds: [server.address], replicaSet: "rs")
        let monitor = try TopologyMonitor(settings: settings, options: MonitorOptions(serverMonitoringMode: .poll))
        defer { monitor.close() }
        #expect(Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .rsPrimary } != nil)
        Thread.sleep(forTimeInterval: 0.1)
        #expect(monitor.onLoop({ $0?.monitor(for: server.address)?.isStreaming }) == false)
        #expect(ResourceCounts.openConnections(toPort: server.port) == 1)
    }

    @Test func serverThatIgnoresMaxAwaitTimeIsPolledNotSpun() throws {
        let processId = BSONObjectID(hex: "00000000000000000000abcd")!
        let server = try FakeMongoServer { _ in
            ["isWritablePrimary": .bool(true), "helloOk": .bool(true), "maxWireVersion": .int32(21),
             "topologyVersion": .document(["processId": .objectID(processId), "counter": .int64(0)]), "ok": .double(1)]
        }
        defer { server.stop() }
        let monitor = try TopologyMonitor(
            settings: TopologySettings(seeds: [server.address]), options: MonitorOptions(serverMonitoringMode: .stream))
        defer { monitor.close() }
        #expect(Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .standalone } != nil)
        Thread.sleep(forTimeInterval: 0.5)
        // The handshake, two awaitable hellos answered at once, the RTT connection's handshake.
        #expect(server.helloCount <= 4, "\(server.helloCount) hellos in half a second: the monitor spun")
        #expect(ResourceCounts.openConnections(toPort: server.port) == 1, "polled on the open connection, the RTT one closed")
        #expect(monitor.onLoop({ $0?.monitor(for: server.address)?.isStreaming }) == false)
    }

    @Test func autoModeStreamsExceptOnFaaS() {
        let options = MonitorOptions(serverMonitoringMode: .auto)
        #expect(options.streamingEnabled(environment: [:]))
        #expect(!options.streamingEnabled(environment: ["AWS_EXECUTION_ENV": "AWS_Lambda_java8"]))
        #expect(!options.streamingEnabled(environment: ["FUNCTIONS_WORKER_RUNTIME": "node"]))
        #expect(!options.streamingEnabled(environment: ["K_SERVICE": "x"]))
        #expect(!options.streamingEnabled(environment: ["VERCEL": "1"]))
        #expect(MonitorOptions(serverMonitoringMode: .stream).streamingEnabled(environment: ["VERCEL": "1"]))
        #expect(!MonitorOptions(serverMonitoringMode: .poll).streamingEnabled(environment: [:]))
    }

    @Test func closeWhileStreamingReturnsPromptly() throws {
        let state = StreamingServerState()
        let server = try FakeMongoServer { state.reply(to: $0) }
        state.port = server.port
        defer { server.stop() }
        let settings = TopologySettings(seeds: [server.address], replicaSet: "rs")
        let monitor = try TopologyMonitor(settings: settings, options: MonitorOptions(threadName: "stream-close", serverMonitoringMode: .stream))
        #expect(Self.waitFor(monitor.topology) { $0.servers[server.address]?.type == .rsPrimary } != nil)
        Thread.sleep(forTimeInterval: 0.1)
        let start = MonotonicClock.nanoseconds()
        monitor.close()
        let ms = Double(MonotonicClock.nanoseconds() - start) / 1e6
        #expect(ms < 500, "close took \(ms) ms while an awaitable hello was out")
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "stream-close") }, to: 0) == 0)
        #expect(ResourceCounts.openConnections(toPort: server.port) == 0)
    }
}
