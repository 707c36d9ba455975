import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// A command the `failCommand` fail point blocks (`blockConnection`): its connection is held
/// — later requests on it wait, as on a real server whose thread for that connection sleeps —
/// while a loop timer runs out `blockTimeMS`, so the server's other connections are served.
///
/// Loop-confined.
final class BlockedCommand {
    let connection: ClientConnection
    let request: CommandRequest
    let message: WireMessage
    let outcome: FailCommandFailPoint.Outcome
    /// The time ran out while the server was hung: it finishes on revive.
    var isDue = false
    let timer: TimerWatcher

    init(loop: MonitorLoop, connection: ClientConnection, request: CommandRequest, message: WireMessage,
         outcome: FailCommandFailPoint.Outcome, onDue: @escaping (BlockedCommand) -> Void) {
        self.connection = connection
        self.request = request
        self.message = message
        self.outcome = outcome
        var fire: () -> Void = {}
        timer = TimerWatcher(loop: loop) { fire() }
        fire = { [unowned self] in withExtendedLifetime(self) { onDue(self) } }
    }
}

extension SimulatedServer {
    /// `configureFailPoint`, answered by the server that received it: the fail point applies
    /// to this server only. The reply's `count` is how often the previous one triggered.
    func configureFailPoint(_ request: CommandRequest) -> BSONDocument {
        guard request.database == "admin" else {
            return CommandFailure(code: 13, codeName: "Unauthorized",
                                  message: "configureFailPoint may only be run against the admin database.").document()
        }
        do throws(CommandFailure) {
            let configured = try FailCommandFailPoint(configureFailPoint: request.command)
            let count = failPoint?.timesEntered ?? 0
            failPoint = configured
            return ["count": .int64(Int64(count)), "ok": .double(1)]
        } catch {
            return error.document()
        }
    }

    /// Remembers the application name a connection's handshake declares, for fail points
    /// filtered by `appName` (the handshake hello itself included).
    func noteClientMetadata(_ request: CommandRequest, on connection: ClientConnection) {
        guard request.isHello, connection.appName == nil,
              let name = request.command["client"]?.documentValue?["application"]?.documentValue?["name"]?.stringValue
        else { return }
        connection.appName = name
    }

    /// What the fail point does with `request`; nil when it lets the command through.
    func failPointResponse(
        _ request: CommandRequest, message: WireMessage, on connection: ClientConnection
    ) -> ClientConnection.Response? {
        guard request.name != "configureFailPoint", var failPoint else { return nil }
        let action = failPoint.trigger(request, appName: connection.appName,
                                       topologyVersion: reportsTopologyVersion ? topologyVersion : nil)
        self.failPoint = failPoint
        guard let action else { return nil }
        guard let blockTimeMS = action.blockTimeMS else {
            return complete(action.outcome, request, message: message, on: connection)
        }
        let blocked = BlockedCommand(loop: loop, connection: connection, request: request, message: message,
                                     outcome: action.outcome) { [unowned self] blocked in self.blockEnded(blocked) }
        blockedCommands[connection.connectionId] = blocked
        connection.hold()
        blocked.timer.start(after: Double(blockTimeMS) / 1000)
        return ClientConnection.Response.none
    }

    /// Runs a caught command's outcome: a close, an error, or the command itself.
    private func complete(
        _ outcome: FailCommandFailPoint.Outcome, _ request: CommandRequest, message: WireMessage, on connection: ClientConnection
    ) -> ClientConnection.Response {
        switch outcome {
        case .closeConnection:
            return .close
        case .error(let document):
            return respond(with: document, to: message)
        case .execute:
            return execute(request, message: message, on: connection)
        case .addWriteConcernError(let writeConcernError):
            var document = answerDocument(request, connectionId: connection.connectionId)
            if document["ok"]?.isTruthy == true { document["writeConcernError"] = .document(writeConcernError) }
            return respond(with: document, to: message)
        }
    }

    /// `blockTimeMS` has passed: the command's outcome goes out, then the connection serves
    /// what queued behind it. A hung server finishes it on revive; a closed connection drops it.
    private func blockEnded(_ blocked: BlockedCommand) {
        let connection = blocked.connection
        guard blockedCommands[connection.connectionId] === blocked, !connection.isClosed else { return }
        guard behaviour.answers else {
            blocked.isDue = true
            return
        }
        blockedCommands[connection.connectionId] = nil
        switch complete(blocked.outcome, blocked.request, message: blocked.message, on: connection) {
        case .reply(let reply):
            connection.deliver(reply)
            connection.release()
        case .close:
            connection.close()
        case .none:
            // An awaitable hello now holds the connection and releases it when answered;
            // otherwise (no reply wanted) the requests queued behind are served now.
            if !holdsHello(on: connection) { connection.release() }
        }
    }

    /// On revive: blocked commands whose time ran out during the hang finish now.
    func finishDueBlockedCommands() {
        for blocked in Array(blockedCommands.values) where blocked.isDue { blockEnded(blocked) }
    }

    /// A connection closed: its blocked command, if any, is dropped.
    func dropBlockedCommand(of connection: ClientConnection) {
        blockedCommands[connection.connectionId]?.timer.stop()
        blockedCommands[connection.connectionId] = nil
    }
}
