import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// Counts of this process's resources, read from /proc, for leak checks. Other suites run in
/// parallel and may hold a file open for a moment, so a check waits (briefly) for the count to
/// settle back rather than reading it once.
public enum ResourceCounts {
    public static func settle(_ read: () -> Int, to expected: Int, within seconds: Double = 2) -> Int {
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        var value = read()
        while value > expected, MonotonicClock.nanoseconds() < deadline {
            usleep(10_000)
            value = read()
        }
        return value
    }

    /// Threads of this process whose name is exactly `name`.
    ///
    /// A joined thread can stay listed in /proc/self/task for a moment: pthread_join returns
    /// when the kernel clears the thread's tid, a little before the task is released. Under a
    /// loaded machine that moment grows, so "no thread left" is checked with `settle`.
    public static func threads(named name: String) -> Int {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.filter { task in
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)) ?? ""
            return comm.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }.count
    }

    public static func openFileDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    public static func threads() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
    }
}

extension ResourceCounts {
    /// This process's TCP sockets whose remote end is 127.0.0.1:`port` (any state): read from
    /// /proc/net/tcp and matched to our own descriptors by inode, so sockets of tests running in
    /// parallel against other ports do not count.
    public static func openConnections(toPort port: UInt16) -> Int {
        let fdDir = "/proc/self/fd"
        let links = (try? FileManager.default.contentsOfDirectory(atPath: fdDir)) ?? []
        var ourInodes = Set<String>()
        for fd in links {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"),
               target.hasPrefix("socket:[") {
                ourInodes.insert(String(target.dropFirst(8).dropLast()))
            }
        }
        let portHex = String(format: "%04X", port)
        var count = 0
        for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
            // /proc files report size 0: read them to the end rather than trusting stat.
            guard let handle = FileHandle(forReadingAtPath: table) else { continue }
            let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
            try? handle.close()
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9 else { continue }
                let remote = fields[2]
                if remote.hasSuffix(":" + portHex), ourInodes.contains(String(fields[9])) { count += 1 }
            }
        }
        return count
    }

    /// Waits (briefly) until `read()` reaches `expected` or less.
    public static func settleConnections(toPort port: UInt16, within seconds: Double = 2) -> Int {
        settle({ openConnections(toPort: port) }, to: 0, within: seconds)
    }
}

extension ResourceCounts {
    /// Raises this process's open-file soft limit to its hard limit (tests with a thousand
    /// servers hold three descriptors per server: listener, accepted and monitoring sockets).
    public static func raiseOpenFileLimit() {
        OpenFileLimit.raiseToHardLimit()
    }
}
