import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Hello replies and replica-set topologies shaped like a real deployment's, shared by the
/// benchmarks. Everything here runs in setup code, never inside a measured loop.
enum ReplicaSetFixtures {
    /// The clock every fixture reply is taken at (milliseconds), so staleness is repeatable.
    static let nowMS: Int64 = 1_700_000_100_000
    static let setName = "rs0"

    /// Member `index` of a replica set: `rs<index>.example.com:27017`.
    static func member(_ index: Int) -> ServerAddress {
        ServerAddress(host: "rs\(index).example.com")
    }

    static func members(_ count: Int) -> [ServerAddress] {
        (0..<count).map(member)
    }

    /// An electionId as servers make them: 0x7fffffff, then the election term big-endian.
    static func electionId(term: UInt64) -> BSONObjectID {
        var bytes: [UInt8] = [0x7F, 0xFF, 0xFF, 0xFF]
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: term >> UInt64(shift))) }
        // 12 bytes by construction.
        return BSONObjectID(bytes: bytes)!
    }

    /// A hello reply of a replica-set member, with the fields a MongoDB 7.0 member sends (in
    /// its order): 20 fields for a primary, 19 for a secondary (no electionId), plus `tags`
    /// when given.
    static func helloReply(
        me: ServerAddress,
        hosts: [ServerAddress],
        primary: ServerAddress,
        term: UInt64 = 18,
        lastWriteDateMS: Int64 = nowMS - 100,
        tags: [String: String] = [:]
    ) -> BSONDocument {
        let isPrimary = me == primary
        var reply: BSONDocument = [
            "topologyVersion": .document([
                "processId": .objectID(BSONObjectID(hex: "6543210fedcba98765432100")!),
                "counter": .int64(6),
            ]),
            "hosts": .array(hosts.map { .string($0.description) }),
            "setName": .string(setName),
            "setVersion": .int32(3),
            "isWritablePrimary": .bool(isPrimary),
            "secondary": .bool(!isPrimary),
            "primary": .string(primary.description),
            "me": .string(me.description),
        ]
        if isPrimary { reply.append("electionId", .objectID(electionId(term: term))) }
        if !tags.isEmpty {
            reply.append("tags", .document(BSONDocument(tags.sorted { $0.key < $1.key }.map { (key: $0.key, value: .string($0.value)) })))
        }
        reply.append("lastWrite", .document([
            "opTime": .document([
                "ts": .timestamp(BSONTimestamp(timestamp: UInt32(lastWriteDateMS / 1000), increment: 1)),
                "t": .int64(Int64(term)),
            ]),
            "lastWriteDate": .datetime(lastWriteDateMS),
        ]))
        let tail: [(key: String, value: BSON)] = [
            ("maxBsonObjectSize", .int32(16_777_216)),
            ("maxMessageSizeBytes", .int32(48_000_000)),
            ("maxWriteBatchSize", .int32(100_000)),
            ("localTime", .datetime(nowMS)),
            ("logicalSessionTimeoutMinutes", .int32(30)),
            ("connectionId", .int32(42)),
            ("minWireVersion", .int32(0)),
            ("maxWireVersion", .int32(21)),
            ("readOnly", .bool(false)),
            ("ok", .double(1)),
        ]
        for (key, value) in tail { reply.append(key, value) }
        return reply
    }

    /// The reply of the primary of a 7-member set: the codec benchmarks' document.
    static let primaryHello7 = helloReply(me: member(0), hosts: members(7), primary: member(0))

    /// `primaryHello7` in an OP_MSG reply frame, as a monitoring socket delivers it.
    static func helloFrame(responseTo: Int32) -> [UInt8] {
        let message = WireMessage(
            requestID: 9_001, responseTo: responseTo,
            payload: .msg(OpMsg(body: primaryHello7.encoded()))
        )
        // A body made by our own encoder always frames.
        return try! message.encoded()
    }

    /// The description a monitor builds from a member's reply.
    static func description(
        of reply: BSONDocument, from address: ServerAddress, roundTripTimeMS: Double = 2
    ) -> ServerDescription {
        ServerDescription(address: address, hello: reply, roundTripTimeMS: roundTripTimeMS, now: nowMS)
    }

    /// A state machine that has heard from every member of a `memberCount`-member set whose
    /// primary is member 0: ReplicaSetWithPrimary, all members known.
    ///
    /// - Parameters:
    ///   - tags: each member's tags, by index.
    ///   - roundTripTimeMS: each member's RTT, by index.
    ///   - lagMS: how far each secondary's lastWriteDate trails the primary's, by index.
    static func steadyReplicaSet(
        memberCount: Int,
        tags: (Int) -> [String: String] = { _ in [:] },
        roundTripTimeMS: (Int) -> Double = { _ in 2 },
        lagMS: (Int) -> Int64 = { _ in 0 }
    ) -> TopologyStateMachine {
        let hosts = members(memberCount)
        var machine = TopologyStateMachine(settings: TopologySettings(seeds: [hosts[0]], replicaSet: setName))
        _ = machine.open()
        for (index, address) in hosts.enumerated() {
            let reply = helloReply(
                me: address, hosts: hosts, primary: hosts[0],
                lastWriteDateMS: nowMS - 100 - lagMS(index), tags: tags(index)
            )
            _ = machine.apply(description(of: reply, from: address, roundTripTimeMS: roundTripTimeMS(index)))
        }
        precondition(machine.description.type == .replicaSetWithPrimary, "fixture should have a primary")
        precondition(machine.description.servers.values.allSatisfy { $0.type != .unknown }, "fixture should know every member")
        return machine
    }
}
