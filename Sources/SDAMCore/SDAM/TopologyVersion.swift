import MongoBSON

/// `topologyVersion` from a hello reply or a state-change error: which process answered, and
/// a counter that grows with each of its state changes. Used to discard stale information.
public struct TopologyVersion: Sendable, Hashable {
    public var processId: BSONObjectID
    public var counter: Int64

    public init(processId: BSONObjectID, counter: Int64) {
        self.processId = processId
        self.counter = counter
    }

    /// Reads `{processId: ObjectId, counter: <number>}`.
    /// - Throws: `HelloReplyError` when a field is missing or of the wrong type.
    public init(document: BSONDocument) throws(HelloReplyError) {
        guard let pid = document["processId"]?.objectIDValue else {
            throw HelloReplyError(field: "topologyVersion.processId", expected: "an ObjectId", found: document["processId"])
        }
        guard let counter = document["counter"]?.int64Value else {
            throw HelloReplyError(field: "topologyVersion.counter", expected: "an integer", found: document["counter"])
        }
        self.init(processId: pid, counter: counter)
    }

    /// The spec's `compareTopologyVersion(current, incoming)`: `.orderedAscending` means the
    /// incoming version is newer. An absent version on either side, or a different processId
    /// (the server restarted), counts as newer: only the same process's counter can prove that
    /// information is old.
    public static func compare(_ current: TopologyVersion?, _ incoming: TopologyVersion?) -> ComparisonOrder {
        guard let current, let incoming, current.processId == incoming.processId else { return .orderedAscending }
        if current.counter == incoming.counter { return .orderedSame }
        return current.counter < incoming.counter ? .orderedAscending : .orderedDescending
    }

    /// Three-way result of `compare`, named as Foundation names it (PoolMonitor does not import
    /// Foundation).
    public enum ComparisonOrder: Sendable, Equatable {
        case orderedAscending, orderedSame, orderedDescending
    }
}
