import MongoBSON
import SDAMCore

/// One whole wire protocol message: the header's identifiers and the opcode-specific part.
///
/// `messageLength` and `opCode` are not stored: encoding derives them and decoding checks them.
public struct WireMessage: Sendable, Hashable {
    /// The opcode-specific part of a message.
    public enum Payload: Sendable, Hashable {
        case msg(OpMsg)
        case query(OpQuery)
        case reply(OpReply)
    }

    /// The sender's identifier for this message.
    public var requestID: Int32
    /// The requestID this message answers (0 on requests).
    public var responseTo: Int32
    public var payload: Payload

    public init(requestID: Int32, responseTo: Int32 = 0, payload: Payload) {
        self.requestID = requestID
        self.responseTo = responseTo
        self.payload = payload
    }

    /// The header's opCode for this payload.
    public var opCode: OpCode {
        switch payload {
        case .msg: .msg
        case .query: .query
        case .reply: .reply
        }
    }

    /// The OP_MSG, if this is one.
    public var opMsg: OpMsg? {
        if case .msg(let message) = payload { message } else { nil }
    }

    /// The OP_REPLY, if this is one.
    public var opReply: OpReply? {
        if case .reply(let reply) = payload { reply } else { nil }
    }

    /// The OP_QUERY, if this is one.
    public var opQuery: OpQuery? {
        if case .query(let query) = payload { query } else { nil }
    }

    // MARK: - Encoding

    /// The message's bytes, header first. An OP_MSG whose flags hold `.checksumPresent` gets a
    /// CRC-32C of everything before it appended.
    ///
    /// - Throws: `WireError` when a document's framing is wrong, a cstring holds 0x00, two
    ///   document sequences share an identifier, or the message outgrows an int32 length.
    public func encoded() throws(WireError) -> [UInt8] {
        var bytes = MessageHeader(messageLength: 0, requestID: requestID, responseTo: responseTo, opCode: opCode).encoded
        var checksum = false
        switch payload {
        case .msg(let message):
            try message.encodeBody(into: &bytes)
            checksum = message.flags.contains(.checksumPresent)
        case .query(let query):
            try query.encodeBody(into: &bytes)
        case .reply(let reply):
            try reply.encodeBody(into: &bytes)
        }
        let total = bytes.count + (checksum ? 4 : 0)
        guard let length = Int32(exactly: total) else { throw WireError(.encodedMessageTooLarge(byteCount: total)) }
        bytes.storeLE(length, at: 0)
        if checksum { bytes.appendLE(CRC32C.checksum(bytes)) }
        return bytes
    }

    // MARK: - Decoding

    /// Decodes one complete message.
    ///
    /// - Parameter frame: exactly one message, header included; its length must equal the
    ///   header's messageLength. `FrameDecoder` cuts a byte stream into such frames.
    /// - Throws: `WireError` for any malformed or unsupported message; never traps.
    public static func decode(frame: [UInt8]) throws(WireError) -> WireMessage {
        var reader = WireReader(frame)
        let header = try MessageHeader(reading: &reader)
        guard header.messageLength >= MessageHeader.byteCount else {
            throw WireError(.messageLengthBelowMinimum(header.messageLength))
        }
        guard Int(header.messageLength) == frame.count else {
            throw WireError(.messageLengthMismatch(declared: header.messageLength, actual: frame.count))
        }
        let payload: Payload
        switch header.opCode {
        case .msg: payload = .msg(try OpMsg(frame: frame, reader: &reader))
        case .reply: payload = .reply(try OpReply(reading: &reader))
        case .query: payload = .query(try OpQuery(reading: &reader))
        case .compressed: try OpCompressed.refuse(&reader)
        case .unknown(let code): throw WireError(.unsupportedOpCode(code))
        }
        return WireMessage(requestID: header.requestID, responseTo: header.responseTo, payload: payload)
    }
}

extension WireMessage {
    /// An encoded message with its requestID replaced: for a request sent on many connections
    /// (the monitor's handshake), encoded once. The requestID is the header's second field.
    /// - Returns: nil when `encoded` is shorter than a header.
    public static func replacingRequestID(in encoded: [UInt8], with requestID: Int32) -> [UInt8]? {
        guard encoded.count >= MessageHeader.byteCount else { return nil }
        var bytes = encoded
        withUnsafeBytes(of: requestID.littleEndian) { id in
            for i in 0..<4 { bytes[4 + i] = id[i] }
        }
        return bytes
    }
}
