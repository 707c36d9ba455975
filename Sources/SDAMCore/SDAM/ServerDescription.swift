import MongoBSON

/// What the monitor knows of one server, per the SDAM specification's ServerDescription.
///
/// A value: built from a hello reply or from an error (see `ServerDescription+Hello.swift`),
/// never mutated in place by the topology. Times are milliseconds on the caller's clock, passed
/// in as parameters; nothing here reads a clock.
public struct ServerDescription: Sendable {
    public var address: ServerAddress
    public var type: ServerType = .unknown
    /// Why the server is Unknown, when a check or an operation failed.
    public var error: String?
    /// Weighted average round-trip time in milliseconds (weight 0.2), nil until measured.
    public var roundTripTimeMS: Double?
    /// Minimum round-trip time over the recent samples, in milliseconds.
    public var minRoundTripTimeMS: Double?
    /// `lastWrite.lastWriteDate`, in milliseconds since the epoch.
    public var lastWriteDateMS: Int64?
    public var opTime: BSONDocument?
    public var minWireVersion: Int = 0
    public var maxWireVersion: Int = 0
    public var me: ServerAddress?
    public var hosts: Set<ServerAddress> = []
    public var passives: Set<ServerAddress> = []
    public var arbiters: Set<ServerAddress> = []
    public var tags: [String: String] = [:]
    public var setName: String?
    public var setVersion: Int64?
    public var electionId: BSONObjectID?
    public var primary: ServerAddress?
    /// When this description was made, in milliseconds on the monitor's clock.
    public var lastUpdateTimeMS: Int64 = 0
    public var logicalSessionTimeoutMinutes: Int64?
    public var topologyVersion: TopologyVersion?
    public var isCryptd: Bool = false
    /// Set by servers behind a load balancer (MongoDB 5.0+); identifies the service for pool
    /// clearing in load-balanced mode.
    public var serviceId: BSONObjectID?

    /// An Unknown description with no error: a server that has not been checked yet.
    public init(address: ServerAddress) {
        self.address = address
    }
}
