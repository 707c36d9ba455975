import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// An awaitable hello held on one connection: waiting for the server's topologyVersion to
/// change or for `maxAwaitTimeMS` to pass, and, for an exhaust stream (`exhaustAllowed`),
/// waiting again after each reply, the next reply answering the previous one.
///
/// It costs one timer and nothing else, so a thousand parked monitors cost a thousand timers.
/// While it exists its connection is held: later requests wait in the connection's buffer.
///
/// Loop-confined.
final class HeldHello {
    let connection: ClientConnection
    /// The hello as the handler reads it (answered afresh each time, with the state of then).
    let request: CommandRequest
    /// The message that carried it: its opcode decides the reply's.
    let message: WireMessage
    /// Whether replies set `moreToCome` and the server keeps streaming.
    let exhaust: Bool
    /// The requestID the next reply answers: the request's, then each previous reply's.
    var responseTo: Int32
    private let maxAwaitSeconds: Double
    private var timer: TimerWatcher?
    private let loop: MonitorLoop
    private let onDue: (HeldHello) -> Void

    /// - Parameter onDue: called on the loop when `maxAwaitTimeMS` has passed.
    init(
        loop: MonitorLoop, connection: ClientConnection, request: CommandRequest, message: WireMessage,
        awaitable: AwaitableHelloRequest, onDue: @escaping (HeldHello) -> Void
    ) {
        self.loop = loop
        self.connection = connection
        self.request = request
        self.message = message
        exhaust = message.opMsg?.flags.contains(.exhaustAllowed) == true
        responseTo = message.requestID
        maxAwaitSeconds = Double(awaitable.maxAwaitTimeMS) / 1000
        self.onDue = onDue
    }

    /// Starts (or restarts) the `maxAwaitTimeMS` wait.
    func wait() {
        let timer = self.timer ?? TimerWatcher(loop: loop) { [unowned self] in
            withExtendedLifetime(self) { self.onDue(self) }
        }
        self.timer = timer
        timer.start(after: maxAwaitSeconds)
    }

    /// Stops waiting (the server hung, or the hello was answered for good).
    func stopWaiting() {
        timer?.stop()
    }
}
