import Foundation
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// A network and mount namespace of the tests' own (`unshare -mn`), in which a DNS server of
/// the tests answers for test.build.10gen.cc and the servers the tests start take the ports
/// the seedlist discovery tests name (27017-27020, 8000), touching nothing of the machine's:
/// its loopback is brought up, and its /etc/resolv.conf and /etc/hosts are bind-mounted over
/// in the private mount namespace, so every lookup of the process — SRV and TXT records and
/// getaddrinfo's of the targets alike — goes to the tests' server. The namespace ends with
/// the process; the DNS server (a child reading its commands on standard input) ends when
/// that input closes.
///
/// Entering needs CAP_SYS_ADMIN (root); `unavailableReason` says why it cannot be entered.
public enum DNSSandbox {
    /// Set in the environment of a process started inside the sandbox.
    public static let environmentKey = "SDAM_DNS_SANDBOX"

    /// Whether this process was started inside the sandbox (by `rerunInside`).
    public static var isInside: Bool { ProcessInfo.processInfo.environment[environmentKey] == "1" }

    /// Why the sandbox cannot be entered from this process; nil when it can.
    public static func unavailableReason() -> String? {
        if getuid() != 0 {
            return "the DNS sandbox needs a network and mount namespace of its own (unshare -mn), which needs root "
                + "(CAP_SYS_ADMIN); this process runs as uid \(getuid()). Run the tests as root (CI does)"
        }
        guard let unshare = unsharePath else {
            return "the DNS sandbox needs unshare(1) (Debian: util-linux), which is not installed"
        }
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: unshare)
        probe.arguments = ["-mn", "true"]
        let errors = Pipe()
        probe.standardError = errors
        probe.standardOutput = FileHandle.nullDevice
        do {
            try probe.run()
        } catch {
            return "the DNS sandbox could not run \(unshare): \(error)"
        }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            return "unshare -mn failed (\(text.trimmingCharacters(in: .whitespacesAndNewlines))): this machine does not "
                + "allow network and mount namespaces here"
        }
        return nil
    }

    static var unsharePath: String? {
        ["/usr/bin/unshare", "/bin/unshare", "/usr/sbin/unshare"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs this executable again, with `arguments`, inside a new sandbox; its output goes to
    /// this process's. Killed (and 124 returned) after `timeout`.
    /// - Returns: its exit status.
    public static func rerunInside(arguments: [String], timeout: Duration = .seconds(1800)) throws -> Int32 {
        guard let unshare = unsharePath else { throw SandboxError(description: "unshare(1) is not installed") }
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        let child = Process()
        child.executableURL = URL(fileURLWithPath: unshare)
        child.arguments = ["-mn", "--", executable] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment[environmentKey] = "1"
        child.environment = environment
        try child.run()
        let finished = ConditionLock(false)
        let waiter = Thread {
            child.waitUntilExit()
            finished.withLock { $0 = true }
            finished.broadcast()
        }
        waiter.start()
        let deadline = MonotonicClock.nanoseconds() + UInt64(timeout.components.seconds) * 1_000_000_000
        if finished.wait(until: deadline, { $0 ? true : nil }) == nil {
            child.terminate()
            _ = finished.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0 ? true : nil }
            return 124
        }
        return child.terminationStatus
    }

    /// Inside the sandbox: loopback up, the tests' resolv.conf (127.0.0.1; timeout:1,
    /// attempts:2) and hosts (localhost only) mounted, and the DNS server started on
    /// 127.0.0.1:53 with `zone`.
    /// - Throws: `SandboxError` when not inside, or a step fails.
    public static func prepare(serving zone: DNSZone = .seedlistDiscoveryTests) throws -> TestDNSServer {
        guard isInside else { throw SandboxError(description: "not inside the DNS sandbox (\(environmentKey) is not set)") }
        try bringUpLoopback()
        let directory = NSTemporaryDirectory() + "sdam-dns-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try bindMount("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n", over: "/etc/resolv.conf", directory: directory)
        try bindMount("127.0.0.1 localhost\n", over: "/etc/hosts", directory: directory)
        let server = try TestDNSServer()
        do {
            try server.serve(zone)
        } catch {
            server.stop()
            throw error
        }
        return server
    }

    /// SIOCGIFFLAGS / SIOCSIFFLAGS on "lo" with IFF_UP | IFF_RUNNING: what `ip link set lo up`
    /// does, without needing iproute2.
    static func bringUpLoopback() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SandboxError(description: "socket() for the loopback's flags failed: errno \(errno)") }
        defer { close(fd) }
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { name in
            for (i, byte) in "lo".utf8.enumerated() { name[i] = byte }
        }
        let getFlags: UInt = 0x8913, setFlags: UInt = 0x8914
        let up: Int16 = 0x1, running: Int16 = 0x40
        guard withUnsafeMutablePointer(to: &request, { ioctl(fd, getFlags, $0) }) == 0 else {
            throw SandboxError(description: "reading the loopback's flags failed: errno \(errno)")
        }
        request.ifr_ifru.ifru_flags |= up | running
        guard withUnsafeMutablePointer(to: &request, { ioctl(fd, setFlags, $0) }) == 0 else {
            throw SandboxError(description: "bringing the loopback up failed: errno \(errno)")
        }
    }

    /// Writes `text` to a file and bind-mounts it over `target` (in this private mount
    /// namespace only).
    static func bindMount(_ text: String, over target: String, directory: String) throws {
        let file = directory + "/" + (target.split(separator: "/").last.map(String.init) ?? "file")
        guard FileManager.default.createFile(atPath: file, contents: Data(text.utf8)) else {
            throw SandboxError(description: "cannot write \(file)")
        }
        guard mount(file, target, nil, UInt(MS_BIND), nil) == 0 else {
            throw SandboxError(description: "bind-mounting \(file) over \(target) failed: errno \(errno)")
        }
    }

    public struct SandboxError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }
}

/// The tests' DNS server: `scripts/dns/test-dns-server.py` (dnslib, from `.build-venv`), a
/// child process serving UDP and TCP on 127.0.0.1:53 what it is told on its standard input.
/// Started only inside the DNS sandbox; ends when `stop()` closes its input, or with this
/// process.
public final class TestDNSServer: Sendable {
    private let process: Process
    private let input: FileHandle
    private let lines = ConditionLock<[String]>([])

    /// Starts the server and waits (up to 10 s) until it listens.
    public init() throws {
        let (python, script) = try Self.locate()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script, "--address", "127.0.0.1", "--port", "53"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        self.process = process
        input = stdin.fileHandleForWriting
        try process.run()
        let lines = self.lines
        let output = stdout.fileHandleForReading
        let reader = Thread {
            var pending = ""
            while true {
                let data = output.availableData
                if data.isEmpty { break }
                pending += String(decoding: data, as: UTF8.self)
                while let newline = pending.firstIndex(of: "\n") {
                    let line = String(pending[..<newline])
                    pending = String(pending[pending.index(after: newline)...])
                    lines.withLock { $0.append(line) }
                    lines.broadcast()
                }
            }
            lines.withLock { $0.append("eof") }
            lines.broadcast()
        }
        reader.start()
        guard try next() == "ready" else {
            stop()
            throw DNSSandbox.SandboxError(description: "the DNS server did not start (no 'ready' from \(script))")
        }
    }

    /// Serves `zone` from now on; returns once the server has it.
    public func serve(_ zone: DNSZone) throws {
        input.write(Data((zone.commandLine + "\n").utf8))
        let reply = try next()
        guard reply == "ok" else { throw DNSSandbox.SandboxError(description: "the DNS server refused the zone: \(reply)") }
    }

    private func next() throws -> String {
        let line = lines.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { l -> String? in l.first }
        guard let line else { throw DNSSandbox.SandboxError(description: "the DNS server did not answer within 10 s") }
        lines.withLock { _ = $0.removeFirst() }
        if line == "eof" { throw DNSSandbox.SandboxError(description: "the DNS server exited") }
        return line
    }

    /// Closes the server's input (it exits) and waits for it, killing it after 5 s.
    public func stop() {
        try? input.close()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        if process.isRunning { process.terminate() }
    }

    /// The venv's Python with dnslib and the server script: from `MONGO_DNS_SERVER_PYTHON`
    /// and `MONGO_DNS_SERVER_SCRIPT` when set, else found in the package root above the
    /// current folder or this executable (`.build-venv/bin/python`,
    /// `scripts/dns/test-dns-server.py`).
    static func locate() throws -> (python: String, script: String) {
        let environment = ProcessInfo.processInfo.environment
        if let python = environment["MONGO_DNS_SERVER_PYTHON"], let script = environment["MONGO_DNS_SERVER_SCRIPT"] {
            return (python, script)
        }
        var starts = [FileManager.default.currentDirectoryPath]
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            starts.append((executable as NSString).deletingLastPathComponent)
        }
        for start in starts {
            var folder = URL(fileURLWithPath: start).standardizedFileURL
            while true {
                let script = folder.appendingPathComponent("scripts/dns/test-dns-server.py").path
                let python = folder.appendingPathComponent(".build-venv/bin/python").path
                if FileManager.default.fileExists(atPath: script) {
                    guard FileManager.default.isExecutableFile(atPath: python) else {
                        throw DNSSandbox.SandboxError(description: "\(python) is missing: run bash scripts/interop-setup.sh (it installs dnslib)")
                    }
                    return (python, script)
                }
                let parent = folder.deletingLastPathComponent()
                if parent.path == folder.path { break }
                folder = parent
            }
        }
        throw DNSSandbox.SandboxError(description: "scripts/dns/test-dns-server.py not found above \(starts.joined(separator: " or "))")
    }
}
