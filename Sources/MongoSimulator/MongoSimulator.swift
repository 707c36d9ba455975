import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// A simulated MongoDB deployment — a standalone, a replica set or mongos routers — speaking the
/// real wire protocol on 127.0.0.1, for tests, demos and benchmarks.
///
/// Every server lives on one libev loop on one thread: non-blocking listeners and connections,
/// no thread per server or per connection, so a thousand servers fit in one process.
///
/// Thread-safe: each control call posts its work to the loop and returns when it is done. Do
/// not call them from the simulator's own loop thread. `stop()` closes everything and joins the
/// thread; a simulator that is never stopped keeps its thread and ports, like an unclosed file.
public final class MongoSimulator: Sendable {
    private let loop: MonitorLoop
    private let core: LoopBound<SimulatorCore?>
    private let directory = SimulatorDirectory()
    private let stopped = ConditionLock(false)
    public let configuration: SimulatorConfiguration

    /// Starts the deployment and returns once every server listens.
    /// - Throws: `SimulatorError` when the configuration is invalid or a port cannot be bound
    ///   (nothing is left running then).
    public init(_ configuration: SimulatorConfiguration) throws(SimulatorError) {
        try configuration.validate()
        self.configuration = configuration
        let tls: TLSContext?
        do {
            tls = try configuration.tls.map { c throws(TLSError) in try TLSContext(role: .server, configuration: c) }
        } catch {
            throw .invalidConfiguration("TLS: \(error)")
        }
        let users = try UserDirectory(users: configuration.users)
        do {
            loop = try MonitorLoop(name: configuration.threadName)
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        core = LoopBound(nil, loop: loop)
        let core = self.core
        let directory = self.directory
        let loop = self.loop
        let started = Self.run(on: loop) { () -> Result<Void, SimulatorError> in
            let simulator = SimulatorCore(loop: loop, configuration: configuration, directory: directory, tls: tls, users: users)
            do throws(SimulatorError) {
                try simulator.start()
            } catch {
                simulator.shutdown()
                return .failure(error)
            }
            core.value = simulator
            return .success(())
        } ?? .failure(.stopped)
        if case .failure(let error) = started {
            stopped.withLock { $0 = true }
            loop.shutdown()
            throw error
        }
    }

    /// The servers' addresses ("127.0.0.1:port"), in the order they started.
    public var addresses: [String] { directory.addresses }

    /// The counters of the server at `address`; nil when there is none.
    public func statistics(for address: String) -> ServerStatistics? {
        directory.statistics(for: address)
    }

    /// The replica set's state now (members, primary, term, setVersion); nil for other kinds.
    public func replicaSetState() throws(SimulatorError) -> ReplicaSetState? {
        try perform { core in core.replicaSet }
    }

    /// A one-line summary: the kind, the set's state, each server's role and behaviour.
    public func status() throws(SimulatorError) -> String {
        try perform { core in core.status() }
    }

    /// The primary steps down at once; another member (one that is up and answering, the old
    /// primary only when no other can) becomes primary, with a greater electionId, after
    /// `electionDelayMS` (before this returns when the delay is 0).
    public func stepDown() throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.stepDown() }
    }

    /// Makes the member at `address` primary now, in a new term; a pending election is dropped.
    public func elect(_ address: String) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.elect(address) }
    }

    /// Closes the server's listener (its port stays reserved) and every connection it has. A
    /// killed primary's set elects another member, as after `stepDown()`.
    public func kill(_ address: String) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.kill(address) }
    }

    /// The server keeps accepting connections but never reads or answers again, on new and
    /// existing connections, until `revive`.
    public func hang(_ address: String) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.hang(address) }
    }

    /// Makes the server answer badly in one chosen way (garbage bytes, truncated replies, a
    /// trickle, a bad hello, ...) on new and existing connections, until `revive`. A hung
    /// server resumes to do so.
    /// - Throws: `SimulatorError.serverDown` for a killed server, `.unknownServer`.
    public func makeHostile(_ address: String, _ behaviour: HostileBehaviour) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.misbehave(address, behaviour) }
    }

    /// Runs `{configureFailPoint: "failCommand", mode, data}` on the server at `address`, as
    /// the command sent over the wire would (see `FailCommandFailPoint`): from the next command
    /// on, that server fails, closes, blocks or annotates the commands it names.
    /// - Returns: the server's reply: `{count, ok: 1}`, or `{ok: 0, errmsg, code}` when the
    ///   command is malformed.
    @discardableResult
    public func configureFailPoint(_ command: BSONDocument, on address: String) throws(SimulatorError) -> BSONDocument {
        try perform { core throws(SimulatorError) in try core.configureFailPoint(address, command) }
    }

    /// Sets any behaviour: `.normal` is `revive`, `.hung` is `hang`, `.down` is `kill`, and
    /// `.hostile` is `makeHostile`.
    public func setBehaviour(_ behaviour: ServerBehaviour, of address: String) throws(SimulatorError) {
        switch behaviour {
        case .normal: try revive(address)
        case .hung: try hang(address)
        case .down: try kill(address)
        case .hostile(let hostility): try makeHostile(address, hostility)
        }
    }

    /// How the server at `address` behaves now.
    public func behaviour(of address: String) throws(SimulatorError) -> ServerBehaviour {
        try perform { core throws(SimulatorError) in try core.behaviour(of: address) }
    }

    /// Brings a killed server back on its port, lets a hung one answer what it was sent, or
    /// makes a hostile one behave.
    public func revive(_ address: String) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.revive(address) }
    }

    /// Starts another replica set member (a secondary, in every member's hosts from now on) or
    /// another mongos.
    /// - Returns: its address.
    @discardableResult
    public func addMember() throws(SimulatorError) -> String {
        try perform { core throws(SimulatorError) in try core.addMember() }
    }

    /// Shuts a member (or mongos) down for good; it leaves the set's hosts at once.
    public func removeMember(_ address: String) throws(SimulatorError) {
        try perform { core throws(SimulatorError) in try core.removeMember(address) }
    }

    /// Closes every listener and connection and joins the loop thread. Idempotent.
    public func stop() {
        guard stopped.setOnce() else { return }
        let core = self.core
        _ = Self.run(on: loop) { () -> Bool in
            core.value?.shutdown()
            core.value = nil
            return true
        }
        loop.shutdown()
    }

    // MARK: - Running on the loop

    /// Runs `body` on the loop with the core and waits for its result.
    private func perform<T: Sendable>(
        _ body: @escaping @Sendable (SimulatorCore) throws(SimulatorError) -> T
    ) throws(SimulatorError) -> T {
        let core = self.core
        let result: Result<T, SimulatorError>? = Self.run(on: loop) {
            guard let simulator = core.value else { return .failure(.stopped) }
            do throws(SimulatorError) {
                return .success(try body(simulator))
            } catch {
                return .failure(error)
            }
        }
        guard let result else { throw .stopped }
        return try result.get()
    }

    /// Runs `work` on `loop` and waits for it; nil when the loop has shut down.
    private static func run<T: Sendable>(on loop: MonitorLoop, _ work: @escaping @Sendable () -> T) -> T? {
        precondition(!loop.inLoop, "MongoSimulator control calls would deadlock on the simulator's own loop")
        let done = ConditionLock<T?>(nil)
        let accepted = loop.execute {
            let value = work()
            done.withLock { $0 = value }
            done.broadcast()
        }
        guard accepted else { return nil }
        return done.wait(until: nil) { $0 }
    }
}
