import MongoBSON

/// The connection-monitoring-and-pooling spec's events, as values: what one server's pool
/// did. Durations are milliseconds on the monotonic clock.
public enum ConnectionPoolEvent: Sendable, Equatable {
    case poolCreated(ServerAddress, options: ConnectionPoolOptions)
    case poolReady(ServerAddress)
    /// `serviceId` is set for a load-balanced pool's per-service clear.
    case poolCleared(ServerAddress, serviceId: BSONObjectID?, interruptInUseConnections: Bool)
    case poolClosed(ServerAddress)
    case connectionCreated(ServerAddress, connectionId: Int)
    /// `durationMS`: from ConnectionCreated to this event (TCP, handshake, later TLS and auth).
    case connectionReady(ServerAddress, connectionId: Int, durationMS: Double)
    case connectionClosed(ServerAddress, connectionId: Int, reason: ConnectionClosedReason)
    case connectionCheckOutStarted(ServerAddress)
    case connectionCheckOutFailed(ServerAddress, reason: CheckOutFailedReason, durationMS: Double)
    case connectionCheckedOut(ServerAddress, connectionId: Int, durationMS: Double)
    case connectionCheckedIn(ServerAddress, connectionId: Int)

    /// The spec's event type name (`ConnectionPoolCreated`, `ConnectionCheckedOut`, …), as the
    /// CMAP test format spells it.
    public var typeName: String {
        switch self {
        case .poolCreated: "ConnectionPoolCreated"
        case .poolReady: "ConnectionPoolReady"
        case .poolCleared: "ConnectionPoolCleared"
        case .poolClosed: "ConnectionPoolClosed"
        case .connectionCreated: "ConnectionCreated"
        case .connectionReady: "ConnectionReady"
        case .connectionClosed: "ConnectionClosed"
        case .connectionCheckOutStarted: "ConnectionCheckOutStarted"
        case .connectionCheckOutFailed: "ConnectionCheckOutFailed"
        case .connectionCheckedOut: "ConnectionCheckedOut"
        case .connectionCheckedIn: "ConnectionCheckedIn"
        }
    }

    /// The type name in camelCase, as `sdam watch --json` names events.
    public var camelCaseName: String {
        let type = typeName
        return type.prefix(1).lowercased() + type.dropFirst()
    }

    /// The server whose pool emitted the event.
    public var address: ServerAddress {
        switch self {
        case .poolCreated(let a, _), .poolReady(let a), .poolCleared(let a, _, _), .poolClosed(let a),
             .connectionCreated(let a, _), .connectionReady(let a, _, _), .connectionClosed(let a, _, _),
             .connectionCheckOutStarted(let a), .connectionCheckOutFailed(let a, _, _),
             .connectionCheckedOut(let a, _, _), .connectionCheckedIn(let a, _):
            a
        }
    }

    /// The connection the event is about, if any.
    public var connectionId: Int? {
        switch self {
        case .connectionCreated(_, let id), .connectionReady(_, let id, _), .connectionClosed(_, let id, _),
             .connectionCheckedOut(_, let id, _), .connectionCheckedIn(_, let id):
            id
        default:
            nil
        }
    }
}

/// Why a pooled connection was closed (CMAP ConnectionClosedEvent.reason).
public enum ConnectionClosedReason: String, Sendable, Equatable {
    /// The pool was cleared after the connection was created.
    case stale
    /// It stayed available longer than maxIdleTimeMS.
    case idle
    /// It failed (network error, timeout, bad reply), or its establishment did.
    case error
    /// The pool was closed.
    case poolClosed
}

/// Why a check-out failed (CMAP ConnectionCheckOutFailedEvent.reason).
public enum CheckOutFailedReason: String, Sendable, Equatable {
    case poolClosed
    case timeout
    /// Establishing a connection failed, or the pool was paused or cleared.
    case connectionError
    /// Not in CMAP: the task that asked was cancelled while it waited (the async face).
    case cancelled
}
