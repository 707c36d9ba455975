import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What this process costs: CPU seconds (getrusage, user + system, this process only, not
/// its children), resident memory, thread and descriptor counts (from /proc).
enum ProcessUsage {
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// Another process's CPU seconds (user + system) from /proc/PID/stat, fields 14 and 15 in
    /// clock ticks; 0 when it cannot be read.
    static func cpuSeconds(ofProcess pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        // After "pid (comm)" the fields start at 3 (state): utime and stime are the 12th and 13th.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// What the scheduler did with a process's threads (those named `thread`, or all):
    /// nanoseconds running and nanoseconds runnable but waiting for a core, from
    /// /proc/PID/task/TID/schedstat. On two shared cores the second tells a starved loop from
    /// a busy one.
    struct Schedule {
        var runNS: UInt64 = 0
        var waitNS: UInt64 = 0
    }

    static func schedule(ofProcess pid: Int32? = nil, thread: String? = nil) -> Schedule {
        let base = pid.map { "/proc/\($0)/task" } ?? "/proc/self/task"
        var total = Schedule()
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            if let thread {
                guard let comm = try? String(contentsOfFile: "\(base)/\(tid)/comm", encoding: .utf8),
                      comm.trimmingCharacters(in: .whitespacesAndNewlines) == thread else { continue }
            }
            guard let line = try? String(contentsOfFile: "\(base)/\(tid)/schedstat", encoding: .utf8) else { continue }
            let fields = line.split(separator: " ").compactMap { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            guard fields.count >= 2 else { continue }
            total.runNS += fields[0]
            total.waitNS += fields[1]
        }
        return total
    }

    /// A memory field of /proc/PID/status (VmRSS by default; VmHWM for the peak) in MiB, of
    /// this process or of `pid`'s.
    static func residentMiB(ofProcess pid: Int32? = nil, field: String = "VmRSS:") -> Double {
        guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            let kB = line.split(separator: " ").dropFirst().first.flatMap { Double($0) } ?? 0
            return kB / 1024
        }
        return 0
    }

    static func threads(ofProcess pid: Int32? = nil) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid.map(String.init) ?? "self")/task").count) ?? 0
    }

    /// The soft limit on open descriptors (RLIMIT_NOFILE).
    static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return Int.max }
        // RLIM_INFINITY is all ones.
        return limit.rlim_cur >= UInt(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Open file descriptors (sockets, pipes, epoll and event fds), from /proc/self/fd.
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

}

/// The p-th percentile (0...100) by nearest rank; nil when empty.
func percentile(_ values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    let sorted = values.sorted()
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}
