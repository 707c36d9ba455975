import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Chunk sizes for feeding a byte stream to an incremental decoder, drawn from a seed the
/// fuzzer controls, so that it explores every way a socket can split a message.
public struct ChunkPlan {
    private var random: SplitMix64
    private let largest: UInt64

    /// - Parameter seed: the input's first byte. Below 128 the chunks are 1-8 bytes (every
    ///   header field split), otherwise 1-512 bytes.
    public init(seed: UInt8) {
        random = SplitMix64(seed: UInt64(seed))
        largest = seed < 128 ? 8 : 512
    }

    /// Cuts `bytes` into consecutive chunks following the plan.
    public mutating func chunks(of bytes: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var chunks: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let size = Int(1 + random.next() % largest)
            let end = min(bytes.endIndex, start + size)
            chunks.append(bytes[start..<end])
            start = end
        }
        return chunks
    }
}

/// The fuzzer's input as an array (the entry points receive a raw pointer).
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
}
