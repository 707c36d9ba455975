import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Why a simulator could not start or a control call could not be carried out.
public enum SimulatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No server of this deployment has that address ("host:port").
    case unknownServer(String)
    /// The address is already a member of the replica set.
    case duplicateMember(String)
    /// The operation needs a different kind of deployment (e.g. `stepDown` on mongos).
    case unsupported(operation: String, kind: String)
    /// The operation needs a primary and the replica set has none (an election is pending).
    case noPrimary
    /// The operation needs a server that is up; this one was killed.
    case serverDown(String)
    /// A socket could not be bound or listened on.
    case socket(SocketError)
    /// The configuration cannot describe a deployment.
    case invalidConfiguration(String)
    /// The simulator was stopped; nothing more can be done with it.
    case stopped

    public var description: String {
        switch self {
        case .unknownServer(let address): "no simulated server at \(address)"
        case .duplicateMember(let address): "\(address) is already a member"
        case .unsupported(let operation, let kind): "\(operation) is not supported by a \(kind)"
        case .noPrimary: "the replica set has no primary"
        case .serverDown(let address): "\(address) is down"
        case .socket(let error): error.description
        case .invalidConfiguration(let why): "invalid simulator configuration: \(why)"
        case .stopped: "the simulator is stopped"
        }
    }
}
