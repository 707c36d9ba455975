import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

// MARK: - Server selection (server-selection spec, "Multi-threaded or asynchronous server selection")

extension MongoClient {
    /// Selects a server for `operation`, waiting for the topology to change when nothing is
    /// suitable yet.
    ///
    /// Selection runs on a snapshot of the topology. When nothing is suitable, it asks the
    /// monitor for immediate checks and waits on the topology's condition variable, asking
    /// again every minHeartbeatFrequencyMS while it waits; every change wakes it, so a read that
    /// a secondary can serve proceeds the moment one is known.
    ///
    /// Selecting through this method does not count an operation against the server (the
    /// `operationCount` the latency window's choice uses); `runCommand` does, for the command's
    /// duration.
    ///
    /// - Parameters:
    ///   - operation: `.read(readPreference)` or `.write`.
    ///   - deprioritized: servers a retried operation already failed on: used only when
    ///     nothing else is suitable.
    /// - Throws: `ClientPoolError.selectionRefused` at once for an invalid read preference
    ///   (e.g. maxStalenessSeconds too small) or an incompatible topology; `.invalidSeedlist`
    ///   at once when a `mongodb+srv://` pool's records break the spec's rules;
    ///   `.serverSelectionTimeout` after serverSelectionTimeoutMS, naming the operation, the
    ///   topology type and every server with its type, RTT and last error; `.poolClosed`.
    @available(*, noasync, message: "blocks the calling thread; call it from a thread of your own, not from a Task")
    public func selectServer(
        for operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress> = []
    ) throws(ClientPoolError) -> ServerDescription {
        let selection = try select(for: operation, deprioritized: deprioritized)
        shared.operationCounts.decrement(selection.server.address)
        return selection.server
    }

    /// A selected server and the topology type it was selected in (which decides how the read
    /// preference is passed).
    struct Selection {
        var server: ServerDescription
        var topologyType: TopologyType
    }

    /// Selects a server and increments its operationCount; the caller decrements it when the
    /// operation is over, whatever its outcome.
    func select(
        for operation: ServerSelectionOperation,
        deprioritized: Set<ServerAddress>
    ) throws(ClientPoolError) -> Selection {
        var selecting = SelectionLoop(shared: shared, operation: operation, deprioritized: deprioritized)
        while let wait = try selecting.next() {
            do {
                selecting.changed(to: try shared.topology.waitForChange(after: wait.version, until: wait.deadline))
            } catch {
                throw .poolClosed
            }
        }
        return selecting.selection!
    }
}

/// One selection's loop, shared by both faces (only its wait differs): select on a snapshot;
/// when nothing is suitable, ask for immediate checks and wait for a change until the next
/// request will count or the deadline (serverSelectionTimeoutMS) passes.
struct SelectionLoop {
    /// Wait for a change after `version`, until `deadline`.
    struct Wait {
        var version: UInt64
        var deadline: UInt64
    }

    /// The server selected, once `next()` returned nil.
    private(set) var selection: MongoClient.Selection?

    let shared: PoolShared
    let operation: ServerSelectionOperation
    let deprioritized: Set<ServerAddress>
    private let timeoutMS: Int
    private let deadline: UInt64
    private var snapshot: Topology.Snapshot
    // Seeded once from the system generator. (Not SystemRandomNumberGenerator itself: it is
    // an empty struct, and ThreadSanitizer's instrumentation of an inout access to a
    // zero-sized value dereferences a bogus address and crashes.)
    private var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))

    init(shared: PoolShared, operation: ServerSelectionOperation, deprioritized: Set<ServerAddress>) {
        self.shared = shared
        self.operation = operation
        self.deprioritized = deprioritized
        timeoutMS = Int(shared.settings.topology.serverSelectionTimeout.inMilliseconds)
        deadline = MonotonicClock.nanoseconds() + UInt64(max(timeoutMS, 0)) * 1_000_000
        snapshot = shared.topology.snapshot
    }

    /// Selects on the current snapshot (incrementing the server's operationCount; nil, and
    /// `selection` is set), or says how long to wait for a change.
    mutating func next() throws(ClientPoolError) -> Wait? {
        guard !shared.isClosed else { throw .poolClosed }
        // Past the deadline, the verdict is the current topology's, not the last snapshot's: a
        // waiter whose wake-up ran late (a task waiting for a cooperative thread, a thread for a
        // core) may hold a snapshot older than changes it was woken for.
        if MonotonicClock.nanoseconds() >= deadline { snapshot = shared.topology.snapshot }
        if let refusal = snapshot.seedlist.refusal { throw .invalidSeedlist(refusal) }
        let counts = shared.operationCounts.all
        do {
            if let server = try shared.selector.select(
                for: operation,
                in: snapshot.description,
                deprioritized: deprioritized,
                operationCount: { counts[$0, default: 0] },
                using: &generator
            ) {
                shared.operationCounts.increment(server.address)
                selection = MongoClient.Selection(server: server, topologyType: snapshot.description.type)
                return nil
            }
        } catch {
            throw .selectionRefused(error)
        }
        // A draining pool (graceful shutdown) lets no selection wait.
        if shared.isDraining { throw .poolClosed }
        let now = MonotonicClock.nanoseconds()
        guard now < deadline else {
            let reason = shared.selector.reasonForTimeout(for: operation, in: snapshot.description)
            throw .serverSelectionTimeout(ServerSelectionTimeout(
                operation: operation, timeoutMS: timeoutMS, topology: snapshot.description, reason: reason,
                seedlistFailure: snapshot.seedlist.timeoutNote(srvName: shared.settings.topology.srv?.srvName)))
        }
        // Requests coalesce in the topology (one per minHeartbeatFrequencyMS for every
        // waiter together); waking when the next one will count keeps the rhythm.
        let nextRequest = shared.topology.requestImmediateCheck()
        return Wait(version: snapshot.version, deadline: min(deadline, max(nextRequest, now + 1_000_000)))
    }

    /// The wait ended: with a new snapshot, or nil on its deadline.
    mutating func changed(to next: Topology.Snapshot?) {
        if let next { snapshot = next }
    }
}

extension ServerSelector {
    /// The reason of `noSuitableServerError(for:in:)`, without the operation (the timeout
    /// error names it itself).
    func reasonForTimeout(for operation: ServerSelectionOperation, in topology: TopologyDescription) -> String {
        switch noSuitableServerError(for: operation, in: topology) {
        case .noSuitableServer(_, let reason): reason
        case let other: other.description
        }
    }
}
