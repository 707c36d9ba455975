#if canImport(Glibc)
import Glibc
#endif
@_spi(LoopPrimitives) import PoolMonitor

/// Lines gathered in memory and written to a descriptor in large writes: when the buffer
/// passes `threshold` and when the owner flushes. One write(2) per line was a large part of
/// what `sdam watch` cost at thousands of lines a second.
final class BufferedOutput: Sendable {
    static let threshold = 64 * 1024

    private let descriptor: Int32
    /// The pending text. The publisher's thread appends; the main thread flushes once the
    /// publisher is drained; the lock orders the two.
    private let buffer = ConditionLock<String>("")

    init(descriptor: Int32) {
        self.descriptor = descriptor
        buffer.withLock { $0.reserveCapacity(Self.threshold * 2) }
    }

    /// Appends through `write`; writes the buffer out when it is past the threshold.
    func append(_ write: (inout String) -> Void) {
        buffer.withLock { text in
            write(&text)
            if text.utf8.count >= Self.threshold { writeOut(&text) }
        }
    }

    /// Writes out whatever is buffered.
    func flush() {
        buffer.withLock { writeOut(&$0) }
    }

    /// Writes all of `text` (retrying short writes and EINTR) and empties it, keeping its
    /// storage. An output that fails (a closed pipe) loses the text: the tool keeps running.
    private func writeOut(_ text: inout String) {
        guard !text.isEmpty else { return }
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0, errno == EINTR { continue }
                guard n > 0 else { break }
                offset += n
            }
        }
        text.removeAll(keepingCapacity: true)
    }
}
