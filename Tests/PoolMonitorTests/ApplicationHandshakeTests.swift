import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// An application connection's handshake reply updates the server's description (SDAM:
/// application handshakes SHOULD), and what that update asks of the monitor reaches it: it
/// comes from an application thread, not from the loop that carries out a check's actions.
@Suite struct ApplicationHandshakeTests {
    let a = ServerAddress(host: "a.example", port: 27017)
    let b = ServerAddress(host: "b.example", port: 27017)

    @Test func aMemberFirstNamedByAnApplicationHandshakeIsMonitored() {
        let topology = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        let forwarded = ConditionLock<[SDAMAction]>([])
        topology.setMonitorSink { actions in forwarded.withLock { $0 += actions } }
        topology.open()
        let reply: BSONDocument = [
            "ok": .int32(1), "minWireVersion": .int32(0), "maxWireVersion": .int32(21), "isWritablePrimary": .bool(false),
            "secondary": .bool(true), "setName": .string("rs"), "hosts": .array([.string("a.example:27017"), .string("b.example:27017")]),
        ]
        topology.applyApplicationHandshake(reply, from: a)
        #expect(topology.description.servers[b] != nil, "the reply named b: the topology has it")
        // Without the forward, b stayed in the topology unmonitored: the monitor's own check of
        // a later names b again, which is no change, so nothing would ever start b's monitor.
        #expect(forwarded.withLock { $0 }.contains(.startMonitoring(b)))
    }
}
