import Testing
@testable import MongoBSON
@testable import SDAMCore

/// A check cycle driven by hand: addresses are strings, time is whole milliseconds turned into
/// the cycle's nanoseconds, and helpers walk a check through its usual steps.
enum CycleFixtures {
    typealias Cycle = ServerCheckCycle<String>
    typealias Action = Cycle.Action

    static let server = ServerAddress(host: "db.example", port: 27017)
    static let processA = BSONObjectID(hex: "00000000000000000000000a")!
    static let processB = BSONObjectID(hex: "00000000000000000000000b")!

    static func ms(_ milliseconds: UInt64) -> UInt64 { milliseconds * 1_000_000 }

    static func cycle(heartbeatMS: Int64 = 10_000, connectTimeoutMS: Int64 = 1_000, streaming: Bool = false) -> Cycle {
        Cycle(server: server, configuration: .init(heartbeatFrequencyMS: heartbeatMS, connectTimeoutMS: connectTimeoutMS, streamingEnabled: streaming))
    }

    /// A standalone's hello reply; with `processId`, it carries a topologyVersion (4.4+).
    static func hello(processId: BSONObjectID? = nil, counter: Int64 = 0) -> BSONDocument {
        var reply: BSONDocument = ["isWritablePrimary": .bool(true), "helloOk": .bool(true), "maxWireVersion": .int32(21)]
        if let processId {
            reply.append("topologyVersion", .document(["processId": .objectID(processId), "counter": .int64(counter)]))
        }
        reply.append("ok", .double(1))
        return reply
    }

    static func version(_ processId: BSONObjectID, _ counter: Int64 = 0) -> TopologyVersion {
        TopologyVersion(processId: processId, counter: counter)
    }

    static let commandError: BSONDocument = ["ok": .double(0), "errmsg": .string("not now"), "code": .int32(8)]
}

extension ServerCheckCycle where Address == String {
    typealias F = CycleFixtures

    /// The actions of `input` after `.startCheck`, answering it with `beginCheck` as the
    /// executor does: the server's type before the check, and no cancellations.
    mutating func begin(_ type: ServerType = .standalone, cancellations: UInt64 = 0, atMS now: UInt64) -> [Action] {
        beginCheck(serverType: type, cancellations: cancellations, at: F.ms(now))
    }

    /// Walks a check that needs a new connection through a one-address lookup, the connect
    /// and the handshake's reply at `replyMS`; returns the reply's actions.
    @discardableResult
    mutating func connectAndHandshake(
        _ type: ServerType = .unknown, atMS start: UInt64, replyMS: UInt64, reply: BSONDocument = F.hello()
    ) -> [Action] {
        _ = begin(type, atMS: start)
        _ = addressesResolved(["10.0.0.1"], at: F.ms(start))
        _ = connected(at: F.ms(start))
        return replyReceived(.init(document: reply), at: F.ms(replyMS))
    }

    /// Starts the first check and completes it with a handshake reply at `replyMS`.
    @discardableResult
    mutating func firstCheck(replyMS: UInt64 = 30, reply: BSONDocument = F.hello()) -> [Action] {
        _ = start()
        return connectAndHandshake(atMS: 0, replyMS: replyMS, reply: reply)
    }

    /// The `.applyDescription` among `actions`, if any.
    static func applied(_ actions: [Action]) -> (description: ServerDescription, checkFailed: Bool, cancellations: UInt64)? {
        for action in actions {
            if case .applyDescription(let description, let failed, _, let cancellations) = action { return (description, failed, cancellations) }
        }
        return nil
    }
}
