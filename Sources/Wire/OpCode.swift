import MongoBSON
import SDAMCore

/// The opCode field of a message header: which message layout follows the header.
///
/// Only the opcodes this driver reads or writes have names; anything else (the removed legacy
/// CRUD opcodes, or garbage) is kept as `.unknown` so that it can be reported, not trapped on.
public enum OpCode: Sendable, Hashable, CustomStringConvertible {
    /// OP_REPLY (1): the reply to a legacy OP_QUERY, used here only for the legacy handshake.
    case reply
    /// OP_QUERY (2004): used here only for the legacy isMaster handshake.
    case query
    /// OP_COMPRESSED (2012): recognised so that it can be refused clearly.
    case compressed
    /// OP_MSG (2013): every command and reply once the handshake is done.
    case msg
    /// Any other value.
    case unknown(Int32)

    /// Maps a header's int32 to its opcode.
    public init(rawValue: Int32) {
        switch rawValue {
        case 1: self = .reply
        case 2004: self = .query
        case 2012: self = .compressed
        case 2013: self = .msg
        default: self = .unknown(rawValue)
        }
    }

    /// The int32 written in the header.
    public var rawValue: Int32 {
        switch self {
        case .reply: 1
        case .query: 2004
        case .compressed: 2012
        case .msg: 2013
        case .unknown(let value): value
        }
    }

    /// The spec's name ("OP_MSG"), or the number for an unknown opcode.
    public var description: String {
        switch self {
        case .reply: "OP_REPLY"
        case .query: "OP_QUERY"
        case .compressed: "OP_COMPRESSED"
        case .msg: "OP_MSG"
        case .unknown(let value): "opCode \(value)"
        }
    }
}
