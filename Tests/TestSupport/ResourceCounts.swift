import Foundation
import PoolMonitor
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
