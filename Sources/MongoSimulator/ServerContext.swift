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
    /// What a mongos behind a load balancer answers a hello with `loadBalanced: true` with
    /// (load-balancers spec); nil: such hellos get no `serviceId`.
    public var serviceId: BSONObjectID?

    public init(me: String, role: ServerRole, replicaSet: ReplicaSetState? = nil,
                topologyVersion: TopologyVersion?, connectionId: Int64, serviceId: BSONObjectID? = nil) {
        self.serviceId = serviceId
        self.me = me
        self.role = role
        self.replicaSet = replicaSet
        self.topologyVersion = topologyVersion
        self.connectionId = connectionId
    }
}
