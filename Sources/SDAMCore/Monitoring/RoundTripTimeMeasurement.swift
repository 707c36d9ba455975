import MongoBSON

/// Measuring RTT while a monitor streams (server-monitoring spec, "Measuring RTT"), as a
/// value: a hello every heartbeatFrequencyMS on a dedicated connection, the handshake's round
/// trip counting as the first sample. Replies never update the topology and nothing is
/// published; any error only closes the connection, and the next tick opens a new one. A tick
/// that finds the previous hello still out sends nothing.
///
/// Times are monotonic nanoseconds on the caller's clock. `RTTMonitor` is its executor.
public struct RoundTripTimeMeasurement: Sendable {
    public enum Action: Sendable, Equatable {
        /// Connect to where the server's monitor is connected; report `connected` or
        /// `connectionFailed`.
        case connect
        case sendHandshake
        case sendHello(useHello: Bool)
        case armTickTimer(at: UInt64)
        case stopTickTimer
        case armTimeoutTimer(at: UInt64)
        case stopTimeoutTimer
        case closeConnection
        /// A round trip in milliseconds, for the server's check cycle.
        case recordSample(Double)
    }

    enum Connection: Sendable, Equatable {
        case none
        case connecting
        /// The handshake, or a hello on the open connection, is out since `sentAt`.
        case awaitingReply(sentAt: UInt64)
        case open(useHello: Bool)
    }

    public let heartbeatFrequencyMS: Int64
    /// Per connect and per reply; 0 means no timeout.
    public let connectTimeoutMS: Int64
    public private(set) var isRunning = false
    public private(set) var samplesTaken = 0
    var connection: Connection = .none
    var deadline: UInt64?

    public init(heartbeatFrequencyMS: Int64, connectTimeoutMS: Int64) {
        self.heartbeatFrequencyMS = heartbeatFrequencyMS
        self.connectTimeoutMS = connectTimeoutMS
    }

    /// Starts measuring: the first hello (or connect) goes out at once.
    public mutating func start(at now: UInt64) -> [Action] {
        guard !isRunning else { return [] }
        isRunning = true
        return tick(at: now)
    }

    public mutating func stop() -> [Action] {
        guard isRunning else { return [] }
        isRunning = false
        connection = .none
        deadline = nil
        return [.stopTickTimer, .stopTimeoutTimer, .closeConnection]
    }

    public mutating func tickTimerFired(at now: UInt64) -> [Action] {
        guard isRunning else { return [] }
        return tick(at: now)
    }

    public mutating func connected(at now: UInt64) -> [Action] {
        guard isRunning, connection == .connecting else { return [] }
        connection = .awaitingReply(sentAt: now)
        return [armTimeout(at: now), .sendHandshake]
    }

    /// A reply arrived; `helloOk` is nil when it could not be read (the connection closes).
    public mutating func replyReceived(helloOk: Bool?, at now: UInt64) -> [Action] {
        guard isRunning, case .awaitingReply(let sentAt) = connection else { return [] }
        guard let helloOk else { return closeConnection() }
        connection = .open(useHello: helloOk)
        deadline = nil
        samplesTaken += 1
        return [.stopTimeoutTimer, .recordSample(now >= sentAt ? Double(now - sentAt) / 1e6 : 0)]
    }

    public mutating func connectionFailed() -> [Action] {
        guard isRunning, connection != .none else { return [] }
        return closeConnection()
    }

    public mutating func timeoutTimerFired(at now: UInt64) -> [Action] {
        guard isRunning, let deadline else { return [] }
        guard now >= deadline else { return [.armTimeoutTimer(at: deadline)] }
        return closeConnection()
    }

    mutating func tick(at now: UInt64) -> [Action] {
        var actions: [Action] = [.armTickTimer(at: now + UInt64(max(0, heartbeatFrequencyMS)) * 1_000_000)]
        switch connection {
        case .connecting, .awaitingReply:
            return actions  // the previous round trip is still out
        case .open(let useHello):
            connection = .awaitingReply(sentAt: now)
            actions += [armTimeout(at: now), .sendHello(useHello: useHello)]
        case .none:
            connection = .connecting
            actions += [armTimeout(at: now), .connect]
        }
        return actions
    }

    mutating func armTimeout(at now: UInt64) -> Action {
        guard connectTimeoutMS > 0 else {
            deadline = nil
            return .stopTimeoutTimer
        }
        let deadline = now + UInt64(connectTimeoutMS) * 1_000_000
        self.deadline = deadline
        return .armTimeoutTimer(at: deadline)
    }

    mutating func closeConnection() -> [Action] {
        connection = .none
        deadline = nil
        return [.stopTimeoutTimer, .closeConnection]
    }
}
