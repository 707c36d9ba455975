import MongoBSON

/// The six SDAM monitoring events of the "SDAM Logging and Monitoring" specification, as values,
/// in the order the state machine produced them. Publishing them (off the loop thread and
/// outside the topology lock) is the caller's job. The topology id is the caller's too: one
/// state machine is one topology.
public enum SDAMEvent: Sendable, Equatable {
    /// The first event of a topology.
    case topologyOpening
    /// A server description was created with its defaults (before its monitor starts).
    case serverOpening(ServerAddress)
    /// A server's description changed by Server Description Equality.
    case serverDescriptionChanged(ServerAddress, previous: ServerDescription, new: ServerDescription)
    /// A server left the topology; its monitor must stop.
    case serverClosed(ServerAddress)
    /// The topology description changed (any field, or any server's description).
    case topologyDescriptionChanged(previous: TopologyDescription, new: TopologyDescription)
    /// The last event of a topology.
    case topologyClosed

    /// The spec-test name of the event (`server_opening_event`, ...).
    public var specName: String {
        switch self {
        case .topologyOpening: "topology_opening_event"
        case .serverOpening: "server_opening_event"
        case .serverDescriptionChanged: "server_description_changed_event"
        case .serverClosed: "server_closed_event"
        case .topologyDescriptionChanged: "topology_description_changed_event"
        case .topologyClosed: "topology_closed_event"
        }
    }
}

/// What the caller (the monitor loop, the pool) must do after a transition. Named for the
/// action, as the spec names it; the state machine itself does no I/O.
public enum SDAMAction: Sendable, Equatable, Hashable {
    /// A server joined the topology: create its monitor and check it at once.
    case startMonitoring(ServerAddress)
    /// A server left the topology: stop its monitor, close its sockets, drop its pool.
    case stopMonitoring(ServerAddress)
    /// Check this server as soon as minHeartbeatFrequencyMS allows.
    case requestImmediateCheck(ServerAddress)
    /// Cancel the check in progress for this server (a network error on an application
    /// connection means the monitor's connection is likely dead too).
    case cancelCheck(ServerAddress)
    /// Clear the server's connection pool, in the same critical section as the topology update
    /// (the spec requires it). In load-balanced mode `serviceId` names the service whose
    /// connections to clear; otherwise the server's pool generation has already been bumped
    /// (see `TopologyStateMachine.poolGeneration(for:)`).
    case clearPool(ServerAddress, serviceId: BSONObjectID?)
    /// A check succeeded on a data-bearing server (or any known server in Single): the pool
    /// may hand out connections (CMAP "ready").
    case markPoolReady(ServerAddress)
}

/// Everything one transition produced: events to publish in order, actions to carry out.
public struct TopologyUpdate: Sendable, Equatable {
    public var events: [SDAMEvent]
    public var actions: [SDAMAction]

    public init(events: [SDAMEvent] = [], actions: [SDAMAction] = []) {
        self.events = events
        self.actions = actions
    }

    /// Nothing happened (a stale or ignored input).
    public var isEmpty: Bool { events.isEmpty && actions.isEmpty }
}
