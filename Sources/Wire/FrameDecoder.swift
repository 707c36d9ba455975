import MongoBSON
import SDAMCore

/// Cuts a connection's byte stream into whole wire protocol messages.
///
/// Feed it bytes as the socket delivers them, in any chunking (one byte at a time included),
/// and call `nextMessage()` until it returns nil. It checks each header as soon as its bytes
/// are there: a messageLength below 16 or above `maxMessageSizeBytes` fails after 4 bytes,
/// before anything is buffered for the body, and a wrong `responseTo` fails after 16.
///
/// A failure is final: once `nextMessage()` has thrown, it throws the same error on every
/// call and `append` drops its bytes, because the stream's framing can no longer be trusted.
/// Close the connection.
///
/// Buffering is amortised linear: consumed bytes are compacted away once they make up at least
/// half the buffer, so many small chunks cost no quadratic copying.
public struct FrameDecoder: Sendable {
    /// The server default for maxMessageSizeBytes, used until a handshake reports another.
    public static let defaultMaxMessageSizeBytes = 48_000_000

    /// The largest messageLength accepted. Set it from the handshake reply's
    /// maxMessageSizeBytes.
    public var maxMessageSizeBytes: Int
    /// When set, each message's responseTo must equal it (the requestID of the request this
    /// connection waits on). With moreToCome replies, set it to the previous reply's requestID.
    public var expectedResponseTo: Int32?
    /// The peer's address, stamped on every error this decoder throws.
    public var server: String?

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Set by the first error; every later call rethrows it.
    public private(set) var failure: WireError?

    /// Creates a decoder with an empty buffer.
    public init(
        maxMessageSizeBytes: Int = FrameDecoder.defaultMaxMessageSizeBytes,
        expectedResponseTo: Int32? = nil,
        server: String? = nil
    ) {
        self.maxMessageSizeBytes = maxMessageSizeBytes
        self.expectedResponseTo = expectedResponseTo
        self.server = server
    }

    /// Bytes received but not yet returned as a message.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Bytes held in storage, consumed ones included: what compaction keeps bounded.
    var storedByteCount: Int { buffer.count }

    /// Adds bytes read from the connection. If the pending message's length is already known
    /// to be out of bounds, the decoder fails here (reported by the next `nextMessage()`) and
    /// stops buffering.
    public mutating func append(_ bytes: some Collection<UInt8>) {
        appendBytes(bytes)
    }

    /// `append(_:)` for what a socket read gives: this concrete overload is what callers in
    /// other modules reach, compiled here for slices (the generic one, called unspecialized
    /// from there, made the Swift runtime look up a witness by name in a process's first
    /// read, issue 17).
    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        appendBytes(bytes)
    }

    /// `append(_:)` for bytes read into a raw buffer (the monitor's read scratch).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        appendBytes(bytes)
    }

    @inline(__always)
    private mutating func appendBytes(_ bytes: some Collection<UInt8>) {
        guard failure == nil else { return }
        compact()
        buffer.append(contentsOf: bytes)
        if let error = checkPendingLength() { fail(error) }
    }

    /// The next whole message, or nil when more bytes are needed.
    ///
    /// - Throws: `WireError` for a bad header, a responseTo mismatch, or a malformed message.
    ///   The decoder stays failed afterwards.
    public mutating func nextMessage() throws(WireError) -> WireMessage? {
        if let failure { throw failure }
        if let error = checkPendingLength() { throw fail(error) }
        let available = bufferedByteCount
        guard available >= 4 else { return nil }
        let length = Int(pendingLength())
        if available >= MessageHeader.byteCount, let expected = expectedResponseTo {
            let responseTo = Int32(bitPattern: buffer.loadUInt32LE(at: readIndex + 8))
            guard responseTo == expected else {
                throw fail(WireError(.responseToMismatch(received: responseTo, expected: expected)))
            }
        }
        guard available >= length else { return nil }
        let frame = Array(buffer[readIndex..<(readIndex + length)])
        readIndex += length
        do {
            return try WireMessage.decode(frame: frame)
        } catch {
            throw fail(error)
        }
    }

    // MARK: - Private

    private func pendingLength() -> Int32 {
        Int32(bitPattern: buffer.loadUInt32LE(at: readIndex))
    }

    /// The error the pending message's messageLength earns, if its 4 bytes are here.
    private func checkPendingLength() -> WireError? {
        guard bufferedByteCount >= 4 else { return nil }
        let length = pendingLength()
        if length < MessageHeader.byteCount { return WireError(.messageLengthBelowMinimum(length)) }
        if Int(length) > maxMessageSizeBytes {
            return WireError(.messageLengthAboveMaximum(length, maximum: maxMessageSizeBytes))
        }
        return nil
    }

    /// Records `error` (with the server stamped) as final and frees the buffer.
    @discardableResult
    private mutating func fail(_ error: WireError) -> WireError {
        let stamped = server == nil ? error : error.from(server: server)
        failure = stamped
        buffer = []
        readIndex = 0
        return stamped
    }

    /// Drops consumed bytes once they are at least half the buffer, so that each byte is moved
    /// at most a constant number of times on average.
    private mutating func compact() {
        guard readIndex > 0 else { return }
        if readIndex == buffer.count {
            // Keep a modest allocation for the next message; let a huge one go.
            buffer.removeAll(keepingCapacity: buffer.capacity <= 1 << 20)
            readIndex = 0
        } else if readIndex * 2 >= buffer.count {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
