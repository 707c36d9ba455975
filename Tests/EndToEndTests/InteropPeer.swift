import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// Why an interop peer could not be run or did not answer in time.
struct InteropPeerError: Error, CustomStringConvertible {
    var description: String
}

/// One Python script from Tests/Interop, run as a subprocess under the virtual environment that
/// `scripts/interop-setup.sh` creates: a peer we did not write (PyMongo, MockupDB).
///
/// Everything about it is bounded: each read waits until a deadline, and a watchdog thread kills
/// the process with SIGKILL when its time limit passes, whatever the test is doing then.
/// `stop()` (call it in a `defer`) kills it if it still runs, reaps it, and waits for its
/// threads to finish; after it no descriptor or thread of the peer remains.
///
/// Spawned with posix_spawn rather than Foundation's `Process`: on Linux the first `Process`
/// starts a run-loop thread whose descriptors stay open for the life of the test process,
/// which suites that count descriptors would see as a leak. Every descriptor above stderr is
/// closed in the child, so it holds no socket of a test running in parallel.
///
/// Used by one test function at a time; it is not shared between threads.
final class InteropPeer {
    /// How the script ended.
    enum Termination: Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signalled(let signal): "killed by signal \(signal)"
            }
        }
    }

    /// The package root: this file is Tests/EndToEndTests/InteropPeer.swift.
    static func packageRoot(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The process id, for checking that it is gone.
    let processIdentifier: pid_t
    private let name: String
    /// Our end of the script's stdin; -1 once closed.
    private var input: Int32
    private let stdoutLines = LineCollector()
    private let stderrLines = LineCollector()
    /// Set, under its lock, by the thread that reaps the process: the watchdog and `stop()`
    /// kill only while it is nil, so a pid that may have been reused is never signalled.
    private let termination = ConditionLock<Termination?>(nil)
    private let threadsRunning = ConditionLock(0)
    /// Our ends of the script's stdin, stdout and stderr, as /proc names them ("socket:[inode]"):
    /// unlike descriptor numbers, never reused by a suite running in parallel.
    private let sockets: Set<String>

    /// Starts `Tests/Interop/<script>` with `arguments`; it is killed after `timeLimit` seconds.
    /// - Throws: `InteropPeerError` naming `scripts/interop-setup.sh` when the virtual
    ///   environment is missing, or when the process cannot be started.
    init(script: String, arguments: [String] = [], timeLimit: Double) throws {
        let root = Self.packageRoot()
        let python = root.appendingPathComponent(".build-venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw InteropPeerError(description:
                "the interop tests need PyMongo and MockupDB in \(root.path)/.build-venv: run scripts/interop-setup.sh (scripts/test.sh does) before swift test")
        }
        name = script
        let stdin = try Self.socketPair()
        let stdout = try Self.socketPair()
        let stderr = try Self.socketPair()
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        let spawned = Self.spawn(
            python, [python, root.appendingPathComponent("Tests/Interop/\(script)").path] + arguments,
            environment: environment.map { "\($0.key)=\($0.value)" },
            stdio: [stdin.child, stdout.child, stderr.child])
        for fd in [stdin.child, stdout.child, stderr.child] { close(fd) }
        guard case .success(let pid) = spawned else {
            for fd in [stdin.ours, stdout.ours, stderr.ours] { close(fd) }
            if case .failure(let error) = spawned { throw error }
            throw InteropPeerError(description: "could not start \(script)")
        }
        processIdentifier = pid
        input = stdin.ours
        sockets = Set([stdin.ours, stdout.ours, stderr.ours].compactMap(Self.link))
        startThread { [stdoutLines] in stdoutLines.collect(from: stdout.ours) }
        startThread { [stderrLines] in stderrLines.collect(from: stderr.ours) }
        startThread { [termination] in Self.reap(pid, into: termination) }
        let deadline = Self.deadline(timeLimit)
        startThread { [termination] in
            if termination.wait(until: deadline, { $0 }) == nil { Self.kill(pid, unless: termination) }
        }
    }

    deinit {
        stop()
    }

    /// The next line the script prints on stdout, waiting at most `seconds`.
    /// - Throws: `InteropPeerError` with the script's stderr when no line came in time (the
    ///   script exited, hung, or failed).
    func readLine(within seconds: Double) throws -> String {
        if let line = stdoutLines.next(until: Self.deadline(seconds)) { return line }
        // When stdout ended the script is probably gone: give its stderr a moment to arrive.
        if stdoutLines.ending != nil { stderrLines.waitForEnd(until: Self.deadline(2)) }
        let why = stdoutLines.ending.map { "its stdout ended (\($0))" } ?? "it printed nothing"
        let status = termination.withLock { $0 }.map { ", \($0)" } ?? ""
        throw InteropPeerError(description: "\(name) printed no line within \(seconds) s: \(why)\(status)\(diagnostics)")
    }

    /// Writes `text` to the script's stdin.
    func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(input, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                throw InteropPeerError(description: "writing to \(name)'s stdin failed: errno \(errno)\(diagnostics)")
            }
            offset += n
        }
    }

    /// Closes the script's stdin: it sees end of input.
    func closeInput() {
        if input >= 0 {
            close(input)
            input = -1
        }
    }

    /// How the script ended, waiting at most `seconds`.
    /// - Throws: `InteropPeerError` when it still runs then (it is killed).
    func waitForExit(within seconds: Double) throws -> Termination {
        if let ended = termination.wait(until: Self.deadline(seconds), { $0 }) { return ended }
        stop()
        throw InteropPeerError(description: "\(name) did not exit within \(seconds) s and was killed\(diagnostics)")
    }

    /// Runs `body`; an error it throws comes back with the script's stderr appended, since a
    /// peer's failure usually shows there first.
    func explaining<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as InteropPeerError {
            throw error
        } catch {
            throw InteropPeerError(description: "\(error)\(diagnostics)")
        }
    }

    /// What the script wrote on stderr, for failure messages.
    var diagnostics: String {
        let lines = stderrLines.all
        return lines.isEmpty ? "" : "; its stderr:\n" + lines.joined(separator: "\n")
    }

    /// Kills the script if it still runs, reaps it, and waits for the peer's threads (which
    /// close its descriptors) to finish. Idempotent.
    func stop() {
        closeInput()
        Self.kill(processIdentifier, unless: termination)
        // A killed process is reaped, and its sockets end, within moments; the bound only
        // guards against a grandchild that inherited one.
        _ = threadsRunning.wait(until: Self.deadline(5)) { $0 == 0 ? true : nil }
    }

    /// How many of our ends of the script's standard streams this process still has open.
    var openDescriptors: Int {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.compactMap { Int32($0) }.filter { Self.link($0).map(sockets.contains) ?? false }.count
    }

    private static func link(_ fd: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)")
    }

    // MARK: - Process plumbing

    private func startThread(_ body: @escaping @Sendable () -> Void) {
        let running = threadsRunning
        running.withLock { $0 += 1 }
        let thread = Thread {
            body()
            running.withLock { $0 -= 1 }
            running.broadcast()
        }
        thread.name = "interop-peer"
        thread.start()
    }

    private static func kill(_ pid: pid_t, unless termination: ConditionLock<Termination?>) {
        termination.withLock { ended in
            if ended == nil { _ = Glibc.kill(pid, SIGKILL) }
        }
    }

    /// Waits for the process to exit without reaping it, then reaps it and records how it
    /// ended in one step under the lock (see `termination`).
    private static func reap(_ pid: pid_t, into termination: ConditionLock<Termination?>) {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
        termination.withLock { ended in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            ended = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signalled(status & 0x7f)
        }
        termination.broadcast()
    }

    /// A connected pair of Unix stream sockets, both close-on-exec: the child's end becomes one
    /// of its standard descriptors, and ours can be written with MSG_NOSIGNAL (a pipe would
    /// raise SIGPIPE in the test process when the script has exited).
    private static func socketPair() throws -> (ours: Int32, child: Int32) {
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw InteropPeerError(description: "socketpair failed: errno \(errno)")
        }
        return (fds[0], fds[1])
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// glibc (2.34 and later) has posix_spawn_file_actions_addclosefrom_np, but Swift's Glibc
    /// module does not declare it.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    /// posix_spawn with `stdio` as descriptors 0, 1 and 2, every other descriptor closed, and
    /// no signal blocked.
    private static func spawn(
        _ path: String, _ arguments: [String], environment: [String], stdio: [Int32]
    ) -> Result<pid_t, InteropPeerError> {
        guard let addCloseFrom else {
            return .failure(InteropPeerError(description: "this C library has no posix_spawn_file_actions_addclosefrom_np (glibc 2.34 or later)"))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in stdio.enumerated() { posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)) }
        _ = addCloseFrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else {
            return .failure(InteropPeerError(description: "posix_spawn \(path) failed: \(String(cString: strerror(result)))"))
        }
        return .success(pid)
    }

    private static func deadline(_ seconds: Double) -> UInt64 {
        MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    }
}

/// Splits what a descriptor delivers into lines as it arrives, for readers that wait with a
/// deadline.
final class LineCollector: Sendable {
    private struct State {
        var pending: [UInt8] = []
        var lines: [String] = []
        var read = 0
        var ended = false
        /// The errno of the read that failed, when the input ended with an error, not EOF.
        var readError: Int32?
    }

    private let state = ConditionLock(State())

    /// Reads `fd` until end of file or an error (the script exited or was killed), then closes
    /// it. Blocks: run it on a thread of its own.
    func collect(from fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            let error = n < 0 ? errno : 0
            if error == EINTR { continue }
            let chunk = n > 0 ? buffer[0..<n] : []
            state.withLock { s in
                guard n > 0 else {
                    s.ended = true
                    if error != 0 { s.readError = error }
                    if !s.pending.isEmpty { s.lines.append(String(decoding: s.pending, as: UTF8.self)) }
                    s.pending = []
                    return
                }
                s.pending += chunk
                while let newline = s.pending.firstIndex(of: UInt8(ascii: "\n")) {
                    s.lines.append(String(decoding: s.pending[..<newline], as: UTF8.self))
                    s.pending.removeSubrange(...newline)
                }
            }
            state.broadcast()
            if n <= 0 { break }
        }
        close(fd)
    }

    /// The next unread line; nil at the deadline or once the input ended with no line left.
    func next(until deadline: UInt64) -> String? {
        state.wait(until: deadline) { s -> String?? in
            if s.read < s.lines.count {
                s.read += 1
                return .some(s.lines[s.read - 1])
            }
            return s.ended ? .some(nil) : nil
        } ?? nil
    }

    /// Waits until the input has ended, at most until `deadline`.
    func waitForEnd(until deadline: UInt64) {
        _ = state.wait(until: deadline) { s in s.ended ? true : nil }
    }

    /// How the input ended: nil while it is open.
    var ending: String? {
        state.withLock { s in
            guard s.ended else { return nil }
            return s.readError.map { "read failed: \(String(cString: strerror($0)))" } ?? "end of file"
        }
    }

    /// Every line so far, read or not.
    var all: [String] { state.withLock { $0.lines } }
}
