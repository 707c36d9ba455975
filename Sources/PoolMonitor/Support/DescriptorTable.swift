#if canImport(Glibc)
import Glibc
#endif

/// The kernel's table of this process's open descriptors, which the monitor's sockets fill.
///
/// The table starts at 64 slots and doubles when a descriptor past its end is opened. Growing
/// it waits for an RCU grace period whenever the process has more than one thread — about
/// 10–15 ms measured here, on whichever thread opened the socket. Opening 5,000 sockets one by
/// one grows it seven times, about 90 ms of the loop thread's discovery; `reserve(upTo:)` grows
/// it once, to the size the batch needs.
enum DescriptorTable {
    /// A lower bound of the table's size when `highestDescriptor` is open: 64, doubled until
    /// it holds that descriptor.
    static func estimatedSize(highestDescriptor: Int32) -> Int32 {
        var table: Int32 = 64
        while table <= highestDescriptor, table < Int32.max / 2 { table *= 2 }
        return table
    }

    /// How many times the table would grow if `count` more descriptors were opened after
    /// `highestDescriptor`, one at a time.
    static func growths(highestDescriptor: Int32, opening count: Int) -> Int {
        var table = Int(estimatedSize(highestDescriptor: highestDescriptor))
        let needed = Int(highestDescriptor) + count
        var growths = 0
        while needed >= table {
            table *= 2
            growths += 1
        }
        return growths
    }

    /// Grows the table, in one step, to hold `descriptor` (kept below the soft RLIMIT_NOFILE,
    /// which bounds the table anyway): a descriptor of /dev/null is duplicated there and closed.
    /// - Returns: the descriptor the table now holds, or nil when nothing could be reserved.
    @discardableResult
    static func reserve(upTo descriptor: Int32) -> Int32? {
        var limit = rlimit()
        var target = descriptor
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) {
            target = min(target, Int32(clamping: limit.rlim_cur) - 1)
        }
        guard target > 0 else { return nil }
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard null >= 0 else { return nil }
        defer { close(null) }
        let reserved = fcntl(null, F_DUPFD_CLOEXEC, target)
        guard reserved >= 0 else { return nil }
        close(reserved)
        return reserved
    }
}
