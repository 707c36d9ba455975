import MongoBSON
import SDAMCore

/// The `failCommand` fail point as real servers have it (mongod's test-only fail points, set
/// with `configureFailPoint`), so that the tests the specs write with it — CMAP, SDAM unified,
/// client backpressure — can run against the simulator. One per simulated server. Pure: it
/// parses the command, and tells for each command what to do with it, counting down `times`
/// and `skip`.
///
/// ```
/// {configureFailPoint: "failCommand", mode: "alwaysOn" | "off" | {times: n} | {skip: n},
///  data: {failCommands: [names], closeConnection, errorCode, errorLabels,
///         blockConnection, blockTimeMS, appName, writeConcernError}}
/// ```
public struct FailCommandFailPoint: Sendable, Equatable {
    /// When the fail point triggers.
    public enum Mode: Sendable, Equatable {
        case off
        case alwaysOn
        /// The next `n` matching commands, then `off`.
        case times(Int)
        /// Not the next `n` matching commands, then every one (`alwaysOn`).
        case skip(Int)
    }

    public var mode: Mode
    /// The command names it applies to (`isMaster` for the `ismaster` spelling too).
    public var failCommands: Set<String>
    /// Close the connection without replying (the client sees a network error).
    public var closeConnection: Bool
    /// Fail with this code instead of running the command.
    public var errorCode: Int32?
    /// The labels of that error, replacing those the server would add.
    public var errorLabels: [String]?
    /// `blockConnection` with `blockTimeMS`: the reply (or the close) is delayed this long, on
    /// this connection only.
    public var blockTimeMS: Int?
    /// Only connections whose handshake named this `client.application.name`.
    public var appName: String?
    /// Run the command, then add this `writeConcernError` to its successful reply.
    public var writeConcernError: BSONDocument?
    /// How many times it triggered since it was configured (the reply's `count` next time).
    public private(set) var timesEntered = 0

    public init(
        mode: Mode, failCommands: Set<String>, closeConnection: Bool = false, errorCode: Int32? = nil,
        errorLabels: [String]? = nil, blockTimeMS: Int? = nil, appName: String? = nil, writeConcernError: BSONDocument? = nil
    ) {
        self.mode = mode
        self.failCommands = Set(failCommands.map(Self.canonicalName))
        self.closeConnection = closeConnection
        self.errorCode = errorCode
        self.errorLabels = errorLabels
        self.blockTimeMS = blockTimeMS
        self.appName = appName
        self.writeConcernError = writeConcernError
    }

    /// What to do with one command the fail point caught.
    public struct Action: Sendable, Equatable {
        /// Milliseconds to wait before carrying out `outcome`.
        public var blockTimeMS: Int?
        public var outcome: Outcome
    }

    public enum Outcome: Sendable, Equatable {
        /// Run the command as usual (after the block).
        case execute
        case closeConnection
        /// Reply with this error document instead of running the command.
        case error(BSONDocument)
        /// Run the command and add this `writeConcernError` to a successful reply.
        case addWriteConcernError(BSONDocument)
    }

    /// The message of the errors it makes, as servers word it.
    public static let errorMessage = "Failing command via 'failCommand' failpoint"

    /// The action for `request`, arriving on a connection whose handshake named `appName`; nil
    /// when the fail point lets it through. Counts the trigger down.
    /// - Parameter topologyVersion: added to state-change errors, as 4.4+ servers do.
    public mutating func trigger(_ request: CommandRequest, appName connectionAppName: String?, topologyVersion: TopologyVersion?) -> Action? {
        guard failCommands.contains(Self.canonicalName(request.name)) else { return nil }
        if let appName, appName != connectionAppName { return nil }
        switch mode {
        case .off:
            return nil
        case .alwaysOn:
            break
        case .times(let n):
            mode = n > 1 ? .times(n - 1) : .off
        case .skip(let n):
            if n > 0 {
                mode = n > 1 ? .skip(n - 1) : .alwaysOn
                return nil
            }
            mode = .alwaysOn
        }
        timesEntered += 1
        let outcome: Outcome
        if closeConnection {
            outcome = .closeConnection
        } else if let errorCode {
            outcome = .error(errorDocument(code: errorCode, request: request, topologyVersion: topologyVersion))
        } else if let writeConcernError {
            outcome = .addWriteConcernError(writeConcernError)
        } else {
            outcome = .execute
        }
        return Action(blockTimeMS: blockTimeMS, outcome: outcome)
    }

    private func errorDocument(code: Int32, request: CommandRequest, topologyVersion: TopologyVersion?) -> BSONDocument {
        var document: BSONDocument = [
            "ok": .double(0), "errmsg": .string(Self.errorMessage), "code": .int32(code),
        ]
        let stateChange = StateChangeError.recoveringCodes.contains(Int(code))
            || StateChangeError.notWritablePrimaryCodes.contains(Int(code))
        if stateChange, let topologyVersion { document.append("topologyVersion", .document(topologyVersion.document)) }
        if let errorLabels {
            document.append("errorLabels", .array(errorLabels.map { .string($0) }))
        } else if request.command["txnNumber"] != nil, request.command["autocommit"] == nil,
                  stateChange || Self.retryableNetworkCodes.contains(code) {
            // A retryable write's retryable error: servers label it so that drivers retry it.
            document.append("errorLabels", .array([.string("RetryableWriteError")]))
        }
        return document
    }

    /// Retryable-writes codes besides the state changes: HostUnreachable, HostNotFound,
    /// NetworkTimeout, SocketException, ExceededTimeLimit.
    private static let retryableNetworkCodes: Set<Int32> = [6, 7, 89, 9001, 262]

    /// Servers match a command by its registered name; `ismaster` is an alias of `isMaster`.
    static func canonicalName(_ name: String) -> String {
        name == "ismaster" ? "isMaster" : name
    }

    // MARK: - Parsing configureFailPoint

    /// The name of the only fail point the simulator has.
    public static let name = "failCommand"

    /// Reads a `configureFailPoint` command; with `mode: "off"`, `data` is not read.
    /// - Throws: `CommandFailure` (BadValue, code 2) naming what is wrong, as a server refuses it.
    public init(configureFailPoint command: BSONDocument) throws(CommandFailure) {
        func bad(_ message: String) -> CommandFailure {
            CommandFailure(code: 2, codeName: "BadValue", message: message)
        }
        guard let name = command["configureFailPoint"]?.stringValue else {
            throw bad("configureFailPoint must name a fail point")
        }
        guard name == Self.name else {
            throw bad("unknown fail point '\(name)': the simulator has only \(Self.name)")
        }
        let mode: Mode
        switch command["mode"] {
        case .string("off")?: mode = .off
        case .string("alwaysOn")?: mode = .alwaysOn
        case .document(let document)?:
            let times = document["times"], skip = document["skip"]
            guard (times == nil) != (skip == nil), document.count == 1 else {
                throw bad("mode must be {times: n} or {skip: n}, got \(document)")
            }
            guard let n = (times ?? skip)?.int64Value, n >= 0, let count = Int(exactly: n) else {
                throw bad("mode's count must be a non-negative integer")
            }
            mode = times != nil ? (count == 0 ? .off : .times(count)) : .skip(count)
        default:
            throw bad("mode must be \"alwaysOn\", \"off\", {times: n} or {skip: n}")
        }
        if mode == .off {
            self.init(mode: .off, failCommands: [])
            return
        }
        let data = command["data"]?.documentValue ?? [:]
        guard case .array(let names)? = data["failCommands"], !names.isEmpty else {
            throw bad("failCommand requires data.failCommands, a non-empty array of command names")
        }
        var failCommands: Set<String> = []
        for value in names {
            guard let name = value.stringValue else { throw bad("data.failCommands must hold strings") }
            failCommands.insert(name)
        }
        var errorCode: Int32?
        if let code = data["errorCode"] {
            guard let value = code.int64Value, let code32 = Int32(exactly: value) else { throw bad("data.errorCode must be an integer") }
            errorCode = code32
        }
        var errorLabels: [String]?
        if let labels = data["errorLabels"] {
            guard case .array(let values) = labels, values.allSatisfy({ $0.stringValue != nil }) else {
                throw bad("data.errorLabels must be an array of strings")
            }
            errorLabels = values.compactMap(\.stringValue)
        }
        var blockTimeMS: Int?
        if data["blockConnection"]?.isTruthy == true {
            guard let ms = data["blockTimeMS"]?.int64Value, ms >= 0, let value = Int(exactly: ms) else {
                throw bad("data.blockTimeMS, a non-negative integer, is required with blockConnection")
            }
            blockTimeMS = value
        }
        var appName: String?
        if let value = data["appName"] {
            guard let name = value.stringValue else { throw bad("data.appName must be a string") }
            appName = name
        }
        var writeConcernError: BSONDocument?
        if let value = data["writeConcernError"] {
            guard let document = value.documentValue else { throw bad("data.writeConcernError must be a document") }
            writeConcernError = document
        }
        self.init(
            mode: mode, failCommands: failCommands, closeConnection: data["closeConnection"]?.isTruthy == true,
            errorCode: errorCode, errorLabels: errorLabels, blockTimeMS: blockTimeMS, appName: appName,
            writeConcernError: writeConcernError)
    }
}
