import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections for one simulated server on the loop: a read watcher on its
/// `ListeningSocket`. When the process runs out of file descriptors, accepting pauses for a
/// moment instead of spinning on the level-triggered watcher.
final class Listener {
    let socket: ListeningSocket
    private let loop: MonitorLoop
    private var watcher: IOWatcher?
    private var backoff: TimerWatcher?
    /// Receives each accepted socket, which it then owns.
    var onAccept: (Int32) -> Void = { fd in _ = Glibc.close(fd) }

    /// Accepts per readiness event, so that one busy server cannot starve the others.
    private static let acceptsPerEvent = 64
    private static let backoffSeconds = 0.05

    /// Binds the port (0: the kernel chooses) without listening yet.
    init(loop: MonitorLoop, port: UInt16) throws(SocketError) {
        self.loop = loop
        socket = try ListeningSocket(port: port)
    }

    var port: UInt16 { socket.port }

    /// Listens and accepts.
    func start() throws(SocketError) {
        try socket.listen()
        guard watcher == nil else { return }
        let watcher = IOWatcher(loop: loop, fd: socket.fd, events: .read) { [unowned self] _ in
            self.acceptPending()
        }
        watcher.start()
        self.watcher = watcher
    }

    /// Stops listening; the port stays reserved for `start()`.
    func stop() throws(SocketError) {
        stopWatching()
        try socket.stopListening()
    }

    /// Releases the port.
    func close() {
        stopWatching()
        socket.close()
    }

    private func stopWatching() {
        watcher?.stop()
        watcher = nil
        backoff?.stop()
    }

    private func acceptPending() {
        for _ in 0..<Self.acceptsPerEvent {
            switch socket.accept() {
            case .connection(let fd):
                onAccept(fd)
            case .wouldBlock:
                return
            case .failed:
                // EMFILE and friends: the pending connection stays queued; try again shortly.
                pauseAccepting()
                return
            }
        }
    }

    private func pauseAccepting() {
        guard let watcher else { return }
        watcher.stop()
        let timer = backoff ?? TimerWatcher(loop: loop) { [unowned self] in
            self.watcher?.start()
        }
        backoff = timer
        timer.start(after: Self.backoffSeconds)
    }
}
