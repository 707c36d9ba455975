import MongoBSON
import SDAMCore

/// OP_COMPRESSED (opcode 2012) is recognised only to be refused: this driver never offers a
/// compressor in its handshake, so a compressed message means a confused or hostile peer.
enum OpCompressed {
    /// Reads originalOpcode, uncompressedSize and compressorId, then throws
    /// `.compressionNotSupported` naming them.
    static func refuse(_ reader: inout WireReader) throws(WireError) -> Never {
        let originalOpCode = try reader.readInt32("OP_COMPRESSED originalOpcode")
        _ = try reader.readInt32("OP_COMPRESSED uncompressedSize")
        let compressorID = try reader.readUInt8("OP_COMPRESSED compressorId")
        throw WireError(.compressionNotSupported(originalOpCode: originalOpCode, compressorID: compressorID))
    }
}
