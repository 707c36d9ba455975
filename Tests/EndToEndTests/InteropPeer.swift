import Foundation
import PoolMonitor
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
/// Everything about it is bounded: each read waits until a deadline, and a watchdog kills the
/// process with SIGKILL when its overall time limit passes, whatever the test is doing then.
/// `stop()` (call it in a `defer`) kills it if it still runs and reaps it. Lines the script
/// writes to stderr are kept for failure messages.
///
/// Used by one test function at a time; it is not shared between threads.
final class InteropPeer {
    /// The package root: this file is Tests/EndToEndTests/InteropPeer.swift.
    static func packageRoot(filePath: String = #filePath) -> URL {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    private let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutLines = LineCollector()
    private let stderrLines = LineCollector()
    private let exit = ConditionLock<Int32?>(nil)
    private let watchdog: DispatchWorkItem
    private let name: String

    /// Starts `Tests/Interop/<script>` with `arguments`; it is killed after `timeLimit` seconds.
    /// - Throws: `InteropPeerError` naming `scripts/interop-setup.sh` when the virtual
    ///   environment is missing, or when the process cannot be started.
    init(script: String, arguments: [String] = [], timeLimit: Double) throws {
        let root = Self.packageRoot()
        let python = root.appendingPathComponent(".build-venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw InteropPeerError(description:
                "the interop tests need PyMongo and MockupDB in \(root.path)/.build-venv: run scripts/interop-setup.sh (scripts/test.sh does) before swift test")
        }
        name = script
        process.executableURL = python
        process.arguments = [root.appendingPathComponent("Tests/Interop/\(script)").path] + arguments
        process.currentDirectoryURL = root
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONUNBUFFERED"] = "1"
        process.environment = environment
        let stdoutPipe = Pipe()
        let stderrPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        stdoutLines.collect(from: stdoutPipe.fileHandleForReading)
        stderrLines.collect(from: stderrPipe.fileHandleForReading)
        let exit = self.exit
        process.terminationHandler = { process in
            let status = process.terminationStatus
            exit.withLock { $0 = status }
            exit.broadcast()
        }
        do {
            try process.run()
        } catch {
            throw InteropPeerError(description: "could not start \(python.path) \(script): \(error)")
        }
        // The watchdog kills by pid only while no exit status has been seen, under the lock the
        // termination handler sets it under.
        let pid = process.processIdentifier
        watchdog = DispatchWorkItem {
            exit.withLock { status in
                if status == nil { _ = Glibc.kill(pid, SIGKILL) }
            }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeLimit, execute: watchdog)
    }

    deinit {
        stop()
    }

    /// The next line the script prints on stdout, waiting at most `seconds`.
    /// - Throws: `InteropPeerError` with the script's stderr when no line came in time (the
    ///   script exited, hung, or failed).
    func readLine(within seconds: Double) throws -> String {
        if let line = stdoutLines.next(until: Self.deadline(seconds)) { return line }
        throw InteropPeerError(description: "\(name) printed no line within \(seconds) s\(diagnostics)")
    }

    /// Writes `text` to the script's stdin.
    func write(_ text: String) throws {
        do {
            try stdinPipe.fileHandleForWriting.write(contentsOf: Data(text.utf8))
        } catch {
            throw InteropPeerError(description: "writing to \(name)'s stdin failed: \(error)\(diagnostics)")
        }
    }

    /// Closes the script's stdin: it sees end of input.
    func closeInput() {
        try? stdinPipe.fileHandleForWriting.close()
    }

    /// The script's exit status, waiting at most `seconds`.
    /// - Throws: `InteropPeerError` when it still runs then (it is killed).
    func waitForExit(within seconds: Double) throws -> Int32 {
        if let status = exit.wait(until: Self.deadline(seconds), { $0 }) { return status }
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

    /// Kills the script if it still runs and waits for it to be reaped. Idempotent.
    func stop() {
        watchdog.cancel()
        closeInput()
        let pid = process.processIdentifier
        exit.withLock { status in
            if status == nil { _ = Glibc.kill(pid, SIGKILL) }
        }
        // A killed process is reaped, and its pipes end, within moments; the bounds only guard
        // against a lost termination handler or a grandchild holding a pipe.
        _ = exit.wait(until: Self.deadline(5)) { $0 }
        stdoutLines.waitForEnd(until: Self.deadline(2))
        stderrLines.waitForEnd(until: Self.deadline(2))
    }

    /// The script's process id, for checking that it is gone.
    var processIdentifier: Int32 { process.processIdentifier }

    private static func deadline(_ seconds: Double) -> UInt64 {
        MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
    }
}

/// Splits what a pipe delivers into lines as it arrives, for readers that wait with a deadline.
final class LineCollector: Sendable {
    private struct State {
        var pending = Data()
        var lines: [String] = []
        var read = 0
        var ended = false
    }

    private let state = ConditionLock(State())

    /// Reads `handle` on a thread of its own until end of file (the script exited or was
    /// killed), then closes it. Blocking reads on a dedicated thread rather than a
    /// readabilityHandler: the handle can then be closed as soon as it ends.
    func collect(from handle: FileHandle) {
        let state = self.state
        let reader = Thread {
            while true {
                let data = handle.availableData
                state.withLock { s in
                    if data.isEmpty {
                        s.ended = true
                        if !s.pending.isEmpty { s.lines.append(String(decoding: s.pending, as: UTF8.self)) }
                        s.pending = Data()
                        return
                    }
                    s.pending.append(data)
                    while let newline = s.pending.firstIndex(of: UInt8(ascii: "\n")) {
                        s.lines.append(String(decoding: s.pending[s.pending.startIndex..<newline], as: UTF8.self))
                        s.pending = Data(s.pending[s.pending.index(after: newline)...])
                    }
                }
                state.broadcast()
                if data.isEmpty { break }
            }
            try? handle.close()
        }
        reader.name = "interop-reader"
        reader.start()
    }

    /// The next unread line; nil at the deadline or once the pipe ended with no line left.
    func next(until deadline: UInt64) -> String? {
        state.wait(until: deadline) { s -> String?? in
            if s.read < s.lines.count {
                s.read += 1
                return .some(s.lines[s.read - 1])
            }
            return s.ended ? .some(nil) : nil
        } ?? nil
    }

    /// Waits until the pipe has ended (its reader thread then closes it and finishes).
    func waitForEnd(until deadline: UInt64) {
        _ = state.wait(until: deadline) { s in s.ended ? true : nil }
    }

    /// Every line so far, read or not.
    var all: [String] { state.withLock { $0.lines } }
}
