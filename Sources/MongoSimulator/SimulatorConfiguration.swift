import MongoTLS

/// What to simulate and where: the deployment's kind, its ports and its election timing.
public struct SimulatorConfiguration: Sendable, Equatable {
    /// The shape of the simulated deployment.
    public enum Kind: Sendable, Equatable {
        /// One standalone mongod.
        case standalone
        /// A replica set named `name` with `members` data-bearing members; the first is elected
        /// primary at start.
        case replicaSet(name: String, members: Int)
        /// `count` mongos routers, each answering hello with `msg: "isdbgrid"`.
        case mongos(count: Int)

        /// A word for messages and the status line.
        public var label: String {
            switch self {
            case .standalone: "standalone"
            case .replicaSet: "replica set"
            case .mongos: "sharded cluster"
            }
        }
    }

    public var kind: Kind
    /// The first port; servers take consecutive ports from it. 0 lets the kernel choose each
    /// port (what tests want: no collisions between parallel runs).
    public var portBase: UInt16
    /// How long after a step-down (or the primary's death) another member becomes primary.
    public var electionDelayMS: Int
    /// Whether servers behave like MongoDB 4.4+: hello and state-change errors carry
    /// `topologyVersion` (a new counter on every state change), and awaitable hellos
    /// (`maxAwaitTimeMS`, exhaust streams) are held until a change. Off, they behave like 4.2
    /// and clients poll.
    public var topologyVersion: Bool
    /// The loop thread's name (at most 15 characters are kept), so that a test can count it.
    public var threadName: String
    /// TLS for every connection (the servers' certificate and key; with
    /// `requestClientCertificate`, the CA of client certificates); nil for plaintext.
    public var tls: TLSConfiguration?
    /// The users to authenticate; with any, every command but the handshake, `ping` and the
    /// authentication commands needs an authenticated connection.
    public var users: [SimulatedUser]
    /// With `tls`: a connection that does not start with a TLS ClientHello speaks plaintext
    /// on the same port (mongod's allowTLS/preferTLS modes). Off: TLS only, as requireTLS.
    public var allowPlaintext = false
    /// The name servers give themselves (hello's `me`, a replica set's `hosts`) and the
    /// simulator's addresses: "127.0.0.1" by default, "localhost" for the seedlist discovery
    /// tests, whose replica set is "localhost:27017" to "localhost:27019". The servers listen
    /// on 127.0.0.1 either way.
    public var hostName = "127.0.0.1"

    public init(kind: Kind = .standalone, portBase: UInt16 = 0, electionDelayMS: Int = 0,
                topologyVersion: Bool = false, threadName: String = "mongo-sim", tls: TLSConfiguration? = nil,
                users: [SimulatedUser] = []) {
        self.users = users
        self.kind = kind
        self.portBase = portBase
        self.electionDelayMS = electionDelayMS
        self.topologyVersion = topologyVersion
        self.threadName = threadName
        self.tls = tls
    }

    /// How many servers the deployment starts with.
    var initialServerCount: Int {
        switch kind {
        case .standalone: 1
        case .replicaSet(_, let members): members
        case .mongos(let count): count
        }
    }

    /// - Throws: `SimulatorError.invalidConfiguration` for an empty deployment, an empty set
    ///   name, a negative delay or ports that would run past 65535.
    func validate() throws(SimulatorError) {
        let count = initialServerCount
        guard count >= 1 else { throw .invalidConfiguration("a deployment needs at least one server, got \(count)") }
        if case .replicaSet(let name, _) = kind, name.isEmpty {
            throw .invalidConfiguration("the replica set name is empty")
        }
        guard electionDelayMS >= 0 else {
            throw .invalidConfiguration("electionDelayMS must be 0 or more, got \(electionDelayMS)")
        }
        if portBase != 0, Int(portBase) + count - 1 > Int(UInt16.max) {
            throw .invalidConfiguration("\(count) ports from \(portBase) run past 65535")
        }
    }
}
