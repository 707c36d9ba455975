import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The streaming protocol's part of a hello: the client's `topologyVersion` and
/// `maxAwaitTimeMS`, and whether the server should wait before answering. Pure.
///
/// A server that reports `topologyVersion` answers such a hello when its own counter moves past
/// the client's, or after `maxAwaitTimeMS`; a client whose version is stale (another processId,
/// an older counter) is answered at once.
public struct AwaitableHelloRequest: Sendable, Equatable {
    /// The version the client last saw.
    public var topologyVersion: TopologyVersion
    /// How long the server may hold the reply, in milliseconds.
    public var maxAwaitTimeMS: Int64

    public init(topologyVersion: TopologyVersion, maxAwaitTimeMS: Int64) {
        self.topologyVersion = topologyVersion
        self.maxAwaitTimeMS = maxAwaitTimeMS
    }

    /// Reads the two fields from a hello command.
    /// - Returns: nil for a plain hello (neither field).
    /// - Throws: `CommandFailure` with the codes a mongod uses when only one of the two fields
    ///   is there, or one is malformed (a negative or non-integral `maxAwaitTimeMS`).
    public static func parse(_ command: BSONDocument) throws(CommandFailure) -> AwaitableHelloRequest? {
        let version = command["topologyVersion"]
        let maxAwait = command["maxAwaitTimeMS"]
        switch (version, maxAwait) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw CommandFailure(code: 51760, codeName: "Location51760",
                                 message: "A request with a 'topologyVersion' must include 'maxAwaitTimeMS'")
        case (nil, .some):
            throw CommandFailure(code: 31368, codeName: "Location31368",
                                 message: "A request with a 'maxAwaitTimeMS' must include a 'topologyVersion'")
        case (.some(let version), .some(let maxAwait)):
            guard let document = version.documentValue, let parsed = try? TopologyVersion(document: document) else {
                throw .typeMismatch("BSON field 'hello.topologyVersion' must be {processId: ObjectId, counter: integer}, got '\(version.typeName)'")
            }
            guard let milliseconds = maxAwait.int64Value, milliseconds >= 0 else {
                throw CommandFailure(code: 31373, codeName: "Location31373",
                                     message: "maxAwaitTimeMS must be a non-negative integer")
            }
            return AwaitableHelloRequest(topologyVersion: parsed, maxAwaitTimeMS: milliseconds)
        }
    }

    /// Whether a server now at `current` holds the reply: the same process, and a counter the
    /// client has already seen (or one beyond it).
    public func waits(at current: TopologyVersion) -> Bool {
        topologyVersion.processId == current.processId && topologyVersion.counter >= current.counter
    }
}
