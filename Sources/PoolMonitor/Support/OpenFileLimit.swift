import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// The process's limit on open descriptors.
@_spi(LoopPrimitives) public enum OpenFileLimit {
    /// Raises the soft limit to the hard limit. A thousand servers need more descriptors than
    /// the usual soft limit of 1,024 (a monitor holds one or two per server; a simulator one per
    /// listener and accepted connection). Does nothing when it is already there or cannot.
    public static func raiseToHardLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
