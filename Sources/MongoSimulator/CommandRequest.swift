import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// One command as the handler sees it, whichever opcode carried it.
public struct CommandRequest: Sendable, Equatable {
    /// The command document; an OP_MSG's document sequences are folded in as array fields.
    public var command: BSONDocument
    /// The database: OP_MSG's `$db`, or the part of OP_QUERY's namespace before ".$cmd".
    public var database: String
    /// Whether it came as a legacy OP_QUERY (answered with OP_REPLY).
    public var isLegacy: Bool

    public init(command: BSONDocument, database: String, isLegacy: Bool = false) {
        self.command = command
        self.database = database
        self.isLegacy = isLegacy
    }

    /// The command's name: its first key, as servers read it.
    public var name: String { command.keys.first ?? "" }

    /// The names of the handshake command, the legacy spellings included.
    static let helloNames: Set<String> = ["hello", "isMaster", "ismaster"]

    /// Whether this is a hello (or isMaster) command.
    public var isHello: Bool { Self.helloNames.contains(name) }
}

/// A server-side error as servers write it: `{ok: 0, errmsg, code, codeName}`.
public struct CommandFailure: Error, Sendable, Equatable {
    public var code: Int32
    public var codeName: String
    public var message: String

    public init(code: Int32, codeName: String, message: String) {
        self.code = code
        self.codeName = codeName
        self.message = message
    }

    /// The reply document; `topologyVersion` is added to state-change errors, as 4.4+ servers do.
    public func document(topologyVersion: TopologyVersion? = nil) -> BSONDocument {
        var reply: BSONDocument = [
            "ok": .double(0),
            "errmsg": .string(message),
            "code": .int32(code),
            "codeName": .string(codeName),
        ]
        if let topologyVersion {
            reply["topologyVersion"] = .document(topologyVersion.document)
        }
        return reply
    }

    static func notWritablePrimary() -> CommandFailure {
        CommandFailure(code: 10107, codeName: "NotWritablePrimary", message: "not primary")
    }

    static func notPrimaryNoSecondaryOk() -> CommandFailure {
        CommandFailure(code: 13435, codeName: "NotPrimaryNoSecondaryOk", message: "not primary and secondaryOk=false")
    }

    static func commandNotFound(_ name: String) -> CommandFailure {
        CommandFailure(code: 59, codeName: "CommandNotFound", message: "no such command: '\(name)'")
    }

    static func typeMismatch(_ message: String) -> CommandFailure {
        CommandFailure(code: 14, codeName: "TypeMismatch", message: message)
    }

    static func missingField(_ field: String) -> CommandFailure {
        CommandFailure(code: 40414, codeName: "Location40414", message: "BSON field '\(field)' is missing but a required field")
    }
}

extension TopologyVersion {
    /// `{processId, counter}` as hello writes it.
    var document: BSONDocument {
        ["processId": .objectID(processId), "counter": .int64(counter)]
    }
}
