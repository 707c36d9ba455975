import MongoBSON
import SDAMCore

/// CRC-32C (Castagnoli), the checksum OP_MSG carries when its checksumPresent flag is set.
///
/// Table-driven, one byte per step: reflected polynomial 0x82F63B78, initial value and final
/// XOR 0xFFFFFFFF (the iSCSI / RFC 3720 variant the server uses).
public enum CRC32C {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        update(0, with: bytes)
    }

    /// Extends `crc` (a finished checksum of earlier bytes, or 0) over `bytes`, so that a
    /// message can be checksummed in pieces.
    public static func update(_ crc: UInt32, with bytes: some Sequence<UInt8>) -> UInt32 {
        var state = ~crc
        let table = Self.table
        let done: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            for byte in buffer {
                state = table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
            }
        }
        if done == nil {
            for byte in bytes {
                state = table[Int((state ^ UInt32(byte)) & 0xFF)] ^ (state >> 8)
            }
        }
        return ~state
    }

    private static let table: [UInt32] = (UInt32(0)..<256).map { index in
        var value = index
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1
        }
        return value
    }
}
