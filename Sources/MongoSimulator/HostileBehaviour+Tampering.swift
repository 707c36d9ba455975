import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// A reply as it leaves a connection: its bytes, at what pace, and what becomes of the
/// connection once they are written.
struct OutgoingReply: Equatable {
    enum Ending: Equatable {
        case keepOpen
        /// An orderly close (FIN) once the bytes are written.
        case close
        /// A TCP reset (SO_LINGER 0, close) once the bytes are written.
        case reset
    }

    var bytes: [UInt8]
    /// Seconds between two bytes; nil sends them all at once.
    var byteInterval: Double?
    var ending: Ending

    init(bytes: [UInt8], byteInterval: Double? = nil, ending: Ending = .keepOpen) {
        self.bytes = bytes
        self.byteInterval = byteInterval
        self.ending = ending
    }
}

/// What each hostile behaviour does to a reply. Pure: the randomness comes in.
extension HostileBehaviour {
    /// The encoded reply `reply` as this behaviour sends it.
    func outgoing(_ reply: [UInt8], random: inout some RandomNumberGenerator) -> OutgoingReply {
        switch self {
        case .garbage:
            var bytes = (0..<64).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes[3] |= 0x80  // a negative messageLength: never a frame
            return OutgoingReply(bytes: bytes)
        case .truncatedReply:
            return OutgoingReply(bytes: Array(reply.prefix(max(1, reply.count / 2))), ending: .close)
        case .oversizedLength:
            var bytes = reply
            guard bytes.count >= 4 else { return OutgoingReply(bytes: bytes) }
            Self.store(Self.oversizedMessageLength, in: &bytes, at: 0)
            return OutgoingReply(bytes: bytes)
        case .wrongResponseTo:
            var bytes = reply
            guard bytes.count >= 12 else { return OutgoingReply(bytes: bytes) }
            let responseTo = bytes[8..<12].reversed().reduce(Int32(0)) { $0 << 8 | Int32($1) }
            Self.store(responseTo &+ 1, in: &bytes, at: 8)
            return OutgoingReply(bytes: bytes)
        case .trickle(let interval):
            return OutgoingReply(bytes: reply, byteInterval: Double(max(1, interval)) / 1000)
        case .resetMidReply:
            return OutgoingReply(bytes: Array(reply.prefix(max(1, reply.count / 2))), ending: .reset)
        case .helloFailure, .manyHosts, .invalidHosts, .duplicateHosts, .upperCaseHosts, .changedSetName, .ignoresMaxAwaitTime,
             .unreadableHandshake:
            return OutgoingReply(bytes: reply)
        }
    }

    /// A successful hello reply of the server at `address` as this behaviour words it.
    func tamper(hello reply: BSONDocument, address: String) -> BSONDocument {
        var reply = reply
        let hosts = reply["hosts"]?.arrayValue?.compactMap(\.stringValue) ?? []
        switch self {
        case .garbage, .truncatedReply, .oversizedLength, .wrongResponseTo, .trickle, .resetMidReply, .ignoresMaxAwaitTime,
             .unreadableHandshake:
            break
        case .helloFailure:
            reply = ["ok": .double(0), "errmsg": .string("hello refused by a hostile simulated server"),
                     "code": .int32(8), "codeName": .string("UnknownError")]
        case .manyHosts(let count):
            var many = hosts
            var index = 0
            while many.count < count {
                index += 1
                many.append("host\(index).invalid:27017")
            }
            reply["hosts"] = .array(many.map { .string($0) })
        case .invalidHosts:
            reply["hosts"] = .array((hosts + Self.invalidHostNames).map { .string($0) })
        case .duplicateHosts:
            let listed = hosts.isEmpty ? [address] : hosts
            reply["hosts"] = .array((listed + listed).map { .string($0) })
        case .upperCaseHosts:
            func upper(_ host: String) -> String {
                let loopback = "127.0.0.1:"
                return host.hasPrefix(loopback) ? "LOCALHOST:" + host.dropFirst(loopback.count) : host.uppercased()
            }
            if !hosts.isEmpty { reply["hosts"] = .array(hosts.map { .string(upper($0)) }) }
            for key in ["primary", "me"] {
                if let host = reply[key]?.stringValue { reply[key] = .string(upper(host)) }
            }
        case .changedSetName(let name):
            reply["setName"] = .string(name)
        }
        return reply
    }

    /// `unreadableHandshake`'s reply to `request`: framed like any reply (OP_REPLY for
    /// OP_QUERY, OP_MSG otherwise), its document `{ok: 1.0}` with an element type (0x20) that
    /// BSON does not have, so it fails only when the document is read.
    static func unreadableReply(to request: WireMessage, requestID: Int32) -> WireMessage {
        let ok: BSONDocument = ["ok": .double(1)]
        var document = ok.encoded()
        document[4] = 0x20
        let payload: WireMessage.Payload = request.opQuery != nil
            ? .reply(OpReply(responseFlags: [.awaitCapable], documents: [document]))
            : .msg(OpMsg(body: document))
        return WireMessage(requestID: requestID, responseTo: request.requestID, payload: payload)
    }

    /// Writes `value` little-endian over the four bytes at `offset` (which the caller checked).
    private static func store(_ value: Int32, in bytes: inout [UInt8], at offset: Int) {
        for index in 0..<4 {
            bytes[offset + index] = UInt8(truncatingIfNeeded: UInt32(bitPattern: value) >> (8 * index))
        }
    }
}
