import Dispatch
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// Where a transition's monitor actions go. The monitor's own transitions, on its loop, carry
/// them out (start a member's check: its connect) as soon as the topology's lock is released,
/// before the pools are told and waiting threads woken, so that the connect is on the wire
/// during that bookkeeping (issue 17) — after them when the transition made a server usable
/// and starts many.
/// What they start or stop follows the topology as it is when they run. An application
/// thread's transitions forward them to the
/// monitor: an application connection's handshake reply updates the server's description (SDAM:
/// application handshakes SHOULD), and what that update asks of the monitor reaches it.
@Suite struct TransitionActionsTests {
    let a = ServerAddress(host: "a.example", port: 27017)
    let b = ServerAddress(host: "b.example", port: 27017)
    /// a's hello as a secondary of rs, naming b.
    let reply: BSONDocument = [
        "ok": .int32(1), "minWireVersion": .int32(0), "maxWireVersion": .int32(21), "isWritablePrimary": .bool(false),
        "secondary": .bool(true), "setName": .string("rs"), "hosts": .array([.string("a.example:27017"), .string("b.example:27017")]),
    ]

    enum Step: Equatable {
        case act([SDAMAction], seedKnown: Bool)
        case pools(Int)
    }

    @Test func actionsRunBeforeThePoolsAreToldUnlessAServerBecameUsableWithManyNew() {
        let topology = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        let order = ConditionLock<[Step]>([])
        topology.setPoolSink { commands in
            order.withLock { $0.append(.pools(commands.count)) }
        }
        let opened = topology.open(act: { actions in
            // The seed is known to the topology (its description exists) when its check starts.
            let known = topology.description.servers[a] != nil
            order.withLock { $0.append(.act(actions, seedKnown: known)) }
        })
        #expect(opened.isEmpty, "carried out by act, not returned")
        #expect(order.withLock { $0 } == [.act([.startMonitoring(a)], seedKnown: true), .pools(1)])

        order.withLock { $0.removeAll() }
        let description = ServerDescription(address: a, hello: reply, roundTripTimeMS: 1, now: 0)
        let applied = topology.apply(description, act: { actions in
            order.withLock { $0.append(.act(actions.filter { $0 == .startMonitoring(b) }, seedKnown: true)) }
        })
        #expect(applied.isEmpty)
        // This one made a usable (its pool marked ready) and starts one monitor: b's check
        // still goes first.
        #expect(order.withLock { $0 } == [.act([.startMonitoring(b)], seedKnown: true), .pools(2)],
                "b's check, then b's pool made and a's marked ready")

        // A reply that makes its server usable and names more members than
        // `connectsBeforeWaking`: the waiting selections wake first, the connects follow.
        let many = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        let manyOrder = ConditionLock<[Step]>([])
        many.setPoolSink { commands in manyOrder.withLock { $0.append(.pools(commands.count)) } }
        many.open()
        manyOrder.withLock { $0.removeAll() }
        let members = (1...Topology.connectsBeforeWaking + 1).map { "m\($0).example:27017" }
        var large = reply
        large["hosts"] = .array((["a.example:27017"] + members).map { .string($0) })
        many.apply(ServerDescription(address: a, hello: large, roundTripTimeMS: 1, now: 0), act: { actions in
            manyOrder.withLock { $0.append(.act(actions.filter { if case .startMonitoring = $0 { true } else { false } }, seedKnown: true)) }
        })
        let steps = manyOrder.withLock { $0 }
        #expect(steps.count == 2)
        #expect(steps.first == .pools(members.count + 1), "the new members' pools made and a's marked ready, first")
        if case .act(let started, _) = steps.last { #expect(started.count == members.count) } else { Issue.record("no act after the pools") }

        // Without act (an application thread's transition), the actions are returned.
        let other = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        #expect(other.open() == [.startMonitoring(a)])
    }

    @Test func aThreadThatSawTheTransitionWhileItsActionsRunFindsThePoolsToldOnceItWaits() throws {
        let topology = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        let delivered = ConditionLock<[[Topology.PoolCommand]]>([])
        topology.setPoolSink { commands in delivered.withLock { $0.append(commands) } }
        topology.open()
        delivered.withLock { $0.removeAll() }
        let seenByTheOtherThread = ConditionLock<(known: Bool, poolsTold: Int)?>(nil)
        topology.apply(ServerDescription(address: a, hello: reply, roundTripTimeMS: 1, now: 0), act: { _ in
            // The loop is starting b's check; the lock is released, the pools not told yet.
            #expect(delivered.withLock { $0 }.isEmpty)
            let other = DispatchGroup()
            DispatchQueue.global().async(group: other) { [a] in
                // An application thread's check-out: it sees a known, then waits.
                let known = topology.description.servers[a]?.type == .rsSecondary
                topology.waitForPoolCommands()
                seenByTheOtherThread.withLock { $0 = (known, delivered.withLock { $0 }.joined().count) }
            }
            other.wait()
        })
        let seen = try #require(seenByTheOtherThread.withLock { $0 })
        #expect(seen.known, "the other thread saw the transition")
        #expect(seen.poolsTold == 2, "b's pool made and a's marked ready before its wait returned")
        #expect(delivered.withLock { $0 }.joined().map(\.action) == [.startMonitoring(b), .markPoolReady(a)],
                "each command carried out once")
        // Nothing pending: the wait returns at once.
        topology.waitForPoolCommands()
        #expect(delivered.withLock { $0 }.count == 1)
    }

    @Test func aMemberFirstNamedByAnApplicationHandshakeIsMonitored() {
        let topology = Topology(settings: TopologySettings(seeds: [a], replicaSet: "rs"))
        let forwarded = ConditionLock<[SDAMAction]>([])
        topology.setMonitorSink { actions in forwarded.withLock { $0 += actions } }
        topology.open()
        topology.applyApplicationHandshake(reply, from: a)
        #expect(topology.description.servers[b] != nil, "the reply named b: the topology has it")
        // Without the forward, b stayed in the topology unmonitored: the monitor's own check of
        // a later names b again, which is no change, so nothing would ever start b's monitor.
        #expect(forwarded.withLock { $0 }.contains(.startMonitoring(b)))
    }

    @Test func aForwardedStartOrStopThatTheTopologyOvertookIsNotCarriedOut() throws {
        // Nothing listens on the seed's port: its checks fail, which changes nothing here.
        let listener = try LoopbackListener()
        let seed = ServerAddress(host: "127.0.0.1", port: listener.address.port)
        listener.close()
        let monitor = try TopologyMonitor(settings: TopologySettings(seeds: [seed], heartbeatFrequencyMS: 60_000))
        defer { monitor.close() }
        // As if forwarded by an application thread, and overtaken by the loop's own transitions
        // before they ran: a start of a server the topology no longer has, a stop of one it has.
        let gone = ServerAddress(host: "127.0.0.2", port: 27017)
        let started = monitor.onLoop { core -> Bool in
            core?.perform([.startMonitoring(gone)])
            return core?.monitor(for: gone) != nil
        }
        #expect(started == false, "no monitor for a server the topology does not have")
        let stillMonitored = monitor.onLoop { core -> Bool in
            core?.perform([.stopMonitoring(seed)])
            return core?.monitor(for: seed) != nil
        }
        #expect(stillMonitored == true, "the topology still has the seed: its monitor stays")
    }
}
