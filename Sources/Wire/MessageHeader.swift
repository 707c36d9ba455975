import MongoBSON
import SDAMCore

/// The 16-byte header (`MsgHeader`) that starts every wire protocol message.
public struct MessageHeader: Sendable, Hashable {
    /// Bytes in a header; also the smallest legal messageLength.
    public static let byteCount = 16

    /// Total message size in bytes, this header included.
    public var messageLength: Int32
    /// The sender's identifier for this message.
    public var requestID: Int32
    /// The requestID this message answers (0 on requests).
    public var responseTo: Int32
    /// Which layout follows.
    public var opCode: OpCode

    public init(messageLength: Int32, requestID: Int32, responseTo: Int32, opCode: OpCode) {
        self.messageLength = messageLength
        self.requestID = requestID
        self.responseTo = responseTo
        self.opCode = opCode
    }

    /// Reads the header from the first 16 bytes of `bytes`. Only the layout is checked here;
    /// the messageLength limits are the caller's (see `FrameDecoder`).
    ///
    /// - Throws: `WireError` `.truncated` when fewer than 16 bytes are given.
    public init(decoding bytes: some Collection<UInt8>) throws(WireError) {
        var reader = WireReader(Array(bytes.prefix(Self.byteCount)))
        try self.init(reading: &reader)
    }

    init(reading reader: inout WireReader) throws(WireError) {
        guard reader.remaining >= Self.byteCount else {
            throw WireError(.truncated(field: "message header", needed: Self.byteCount, available: reader.remaining))
        }
        messageLength = try reader.readInt32("messageLength")
        requestID = try reader.readInt32("requestID")
        responseTo = try reader.readInt32("responseTo")
        opCode = OpCode(rawValue: try reader.readInt32("opCode"))
    }

    /// The 16 header bytes, little-endian.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.byteCount)
        bytes.appendLE(messageLength)
        bytes.appendLE(requestID)
        bytes.appendLE(responseTo)
        bytes.appendLE(opCode.rawValue)
        return bytes
    }
}
