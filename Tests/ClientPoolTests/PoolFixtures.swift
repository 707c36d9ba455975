import Dispatch
import TestSupport
import Synchronization
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// A "monitor" that monitors nothing: the test feeds the topology by hand (`apply`) and sees
/// the immediate-check requests selection makes.
final class HandFedMonitor: TopologyMonitoring {
    let topology: Topology
    /// Every batch of monitor actions the topology forwarded (immediate checks, cancels).
    let requests = ConditionLock<[[SDAMAction]]>([])

    init(settings: TopologySettings) {
        topology = Topology(settings: settings)
        let requests = self.requests
        topology.setMonitorSink { actions in
            requests.withLock { $0.append(actions) }
            requests.broadcast()
        }
        topology.open()
    }

    func close() { topology.close() }

    /// Waits (up to `seconds`) until at least `count` batches of requests have arrived.
    @discardableResult
    func waitForRequests(_ count: Int, seconds: Double = 5) -> Bool {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        return requests.wait(until: deadline) { $0.count >= count ? true : nil } ?? false
    }

    var requestCount: Int { requests.withLock { $0.count } }
}

enum Fixtures {
    static let a = ServerAddress(host: "a.example", port: 27017)
    static let b = ServerAddress(host: "b.example", port: 27017)
    static let c = ServerAddress(host: "c.example", port: 27017)

    /// A pool over a hand-fed topology.
    static func pool(
        seeds: [ServerAddress] = [a, b, c],
        replicaSet: String? = "rs",
        directConnection: Bool? = nil,
        configure: (inout ClientSettings) -> Void = { _ in }
    ) -> (ClientPool, HandFedMonitor) {
        let monitor = HandFedMonitor(settings: TopologySettings(seeds: seeds, replicaSet: replicaSet, directConnection: directConnection))
        var settings = ClientSettings(topology: monitor.topology.settings)
        configure(&settings)
        return (ClientPool(settings: settings, monitor: monitor), monitor)
    }

    static func hello(_ fields: [(String, BSON)]) -> BSONDocument {
        var doc: BSONDocument = ["ok": .int32(1), "minWireVersion": .int32(0), "maxWireVersion": .int32(21)]
        for (key, value) in fields { doc[key] = value }
        return doc
    }

    static func hosts(_ addresses: [ServerAddress]) -> BSON { .array(addresses.map { .string($0.description) }) }

    static func primary(_ address: ServerAddress, hosts members: [ServerAddress] = [a, b, c], rtt: Double = 5) -> ServerDescription {
        let reply = hello([("isWritablePrimary", .bool(true)), ("setName", .string("rs")), ("hosts", hosts(members))])
        return ServerDescription(address: address, hello: reply, roundTripTimeMS: rtt, now: MonotonicClock.milliseconds())
    }

    static func secondary(_ address: ServerAddress, hosts members: [ServerAddress] = [a, b, c], rtt: Double = 5) -> ServerDescription {
        let reply = hello([("secondary", .bool(true)), ("setName", .string("rs")), ("hosts", hosts(members))])
        return ServerDescription(address: address, hello: reply, roundTripTimeMS: rtt, now: MonotonicClock.milliseconds())
    }

    static func arbiter(_ address: ServerAddress, rtt: Double) -> ServerDescription {
        let reply = hello([("arbiterOnly", .bool(true)), ("setName", .string("rs")), ("hosts", hosts([a, b, c]))])
        return ServerDescription(address: address, hello: reply, roundTripTimeMS: rtt, now: MonotonicClock.milliseconds())
    }

    static func unknown(_ address: ServerAddress, error: String) -> ServerDescription {
        ServerDescription(address: address, error: error, now: MonotonicClock.milliseconds())
    }
}

/// Runs `body` on another thread; `wait` returns its result, or nil if it did not finish in
/// time (so a broken test fails instead of hanging).
final class Background<T: Sendable>: Sendable {
    private let result = ConditionLock<T?>(nil)

    init(_ body: @escaping @Sendable () -> T) {
        let result = self.result
        DispatchQueue.global().async {
            let value = body()
            result.withLock { $0 = value }
            result.broadcast()
        }
    }

    func wait(seconds: Double = 10) -> T? {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        return result.wait(until: deadline) { $0 }
    }

    var isFinished: Bool { result.withLock { $0 != nil } }
}

/// Seconds since `start` (monotonic nanoseconds).
func secondsSince(_ start: UInt64) -> Double {
    Double(MonotonicClock.nanoseconds() - start) / 1e9
}

extension ClientPoolError {
    var isPoolClosed: Bool {
        if case .poolClosed = self { return true }
        return false
    }
}

/// A fake server for command tests: answers the handshake with `hello`, records every other
/// request, and answers it with `reply` (nil closes the connection).
final class ScriptedServer: Sendable {
    let server: FakeMongoServer
    private let recorded = ConditionLock<[BSONDocument]>([])
    /// What the handshake is answered with (the topology learns from it too).
    private let helloReply: ConditionLock<BSONDocument>

    init(
        hello: BSONDocument,
        gate: ConditionLock<Bool> = ConditionLock(false),
        reply: @escaping @Sendable (BSONDocument) -> BSONDocument?
    ) throws {
        self.gate = gate
        let recorded = self.recorded
        let helloReply = ConditionLock(hello)
        self.helloReply = helloReply
        server = try FakeMongoServer { request in
            let name = request.keys.first?.lowercased() ?? ""
            if name == "ismaster" || name == "hello" { return helloReply.withLock { $0 } }
            recorded.withLock { $0.append(request) }
            recorded.broadcast()
            return reply(request)
        }
    }

    var address: ServerAddress { server.address }

    /// From now on the handshake says this server is the primary of set "rs" naming only
    /// itself (keeping the wire versions it had), as the hand-fed topology was told: an
    /// application handshake's reply updates the topology, so it must not contradict it.
    func answerHandshakesAsPrimary(hosts: [ServerAddress]? = nil) {
        let members = hosts ?? [address]
        helloReply.withLock { hello in
            hello["isWritablePrimary"] = .bool(true)
            hello["setName"] = .string("rs")
            hello["hosts"] = .array(members.map { .string($0.description) })
        }
    }
    var commands: [BSONDocument] { recorded.withLock { $0 } }

    /// Waits (up to 5 s) until `count` commands have arrived.
    @discardableResult
    func waitForCommands(_ count: Int) -> Bool {
        recorded.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0.count >= count ? true : nil } ?? false
    }
    /// Handshakes answered: one per connection the client opened.
    var connections: Int { server.helloCount }

    /// Opens the gate of a `hanging()` server (its handlers return), then stops the server.
    func stop() {
        gate.withLock { $0 = true }
        gate.broadcast()
        server.stop()
    }

    private let gate: ConditionLock<Bool>

    /// A server that answers the handshake and then never answers a command: each one waits
    /// until `stop()` (at most 5 s) and the connection is closed.
    static func hanging() throws -> ScriptedServer {
        let gate = ConditionLock(false)
        let server = try ScriptedServer(hello: FakeMongoServer.standaloneHello(), gate: gate) { _ in
            _ = gate.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0 ? true : nil }
            return nil
        }
        return server
    }

    static let ok: BSONDocument = ["ok": .double(1)]

    /// A replica set primary's hello naming only `address`.
    static func primaryHello(_ address: ServerAddress, maxWireVersion: Int32 = 21) -> BSONDocument {
        ["isWritablePrimary": .bool(true), "setName": .string("rs"), "hosts": .array([.string(address.description)]),
         "minWireVersion": .int32(0), "maxWireVersion": .int32(maxWireVersion), "ok": .double(1)]
    }
}

extension Fixtures {
    /// A pool whose hand-fed topology knows `server` as the primary of set "rs".
    static func pool(primary server: ScriptedServer, configure: (inout ClientSettings) -> Void = { _ in }) -> (ClientPool, HandFedMonitor) {
        let (pool, monitor) = Fixtures.pool(seeds: [server.address], configure: configure)
        markPrimary(server, in: pool)
        return (pool, monitor)
    }

    static func markPrimary(_ server: ScriptedServer, in pool: ClientPool) {
        server.answerHandshakesAsPrimary()
        pool.topology.apply(ServerDescription(
            address: server.address, hello: ScriptedServer.primaryHello(server.address), roundTripTimeMS: 1,
            now: MonotonicClock.milliseconds()
        ))
    }
}
