@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Hand-built BSON bytes and helpers shared by the wire protocol tests. The wire layer treats
/// documents as raw bytes, so these tests build them by hand rather than through a BSON codec.
enum WireFixture {
    /// `{key: value}` with an int32 value.
    static func document(_ key: String, _ value: Int32) -> [UInt8] {
        var element: [UInt8] = [0x10] + Array(key.utf8) + [0]
        element.appendLE(value)
        return wrap(element)
    }

    /// `{key: "text"}`, for documents of chosen sizes.
    static func document(_ key: String, text: String) -> [UInt8] {
        var element: [UInt8] = [0x02] + Array(key.utf8) + [0]
        element.appendLE(Int32(text.utf8.count + 1))
        element += Array(text.utf8) + [0]
        return wrap(element)
    }

    static let empty: [UInt8] = [5, 0, 0, 0, 0]

    private static func wrap(_ elements: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLE(Int32(elements.count + 5))
        return bytes + elements + [0]
    }

    static func int32LE(_ value: Int32) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.appendLE(value)
        return bytes
    }

    /// A frame from a header and a body, with messageLength filled in.
    static func frame(requestID: Int32 = 1, responseTo: Int32 = 0, opCode: Int32, body: [UInt8]) -> [UInt8] {
        int32LE(Int32(16 + body.count)) + int32LE(requestID) + int32LE(responseTo) + int32LE(opCode) + body
    }

    /// A hello reply as OP_MSG.
    static func helloReply(requestID: Int32, responseTo: Int32, flags: OpMsg.Flags = []) -> WireMessage {
        WireMessage(requestID: requestID, responseTo: responseTo,
                    payload: .msg(OpMsg(flags: flags, body: document("ok", 1))))
    }
}

