import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// What one server knows about itself when it answers a command: everything `CommandHandler`
/// needs besides the request, the data store and the time.
public struct ServerContext: Sendable, Equatable {
    /// The server's own address, hello's `me`.
    public var me: String
    public var role: ServerRole
    /// The set's state, for replica set members.
    public var replicaSet: ReplicaSetState?
    /// This process's id and state-change counter; nil for a server that, like MongoDB 4.2,
    /// reports none (clients then poll instead of streaming).
    public var topologyVersion: TopologyVersion?
    /// The connection the request came on (hello's `connectionId`).
    public var connectionId: Int64

    public init(me: String, role: ServerRole, replicaSet: ReplicaSetState? = nil,
                topologyVersion: TopologyVersion?, connectionId: Int64) {
        self.me = me
        self.role = role
        self.replicaSet = replicaSet
        self.topologyVersion = topologyVersion
        self.connectionId = connectionId
    }
}
