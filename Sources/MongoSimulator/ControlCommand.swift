import MongoBSON

/// One line of the `sdam simulate` control protocol, parsed. Pure.
public enum ControlCommand: Sendable, Equatable {
    case stepDown
    case elect(String)
    case kill(String)
    case hang(String)
    case revive(String)
    /// `hostile HOST:PORT KIND [ARG]`: one of `HostileBehaviour.usage`.
    case hostile(String, HostileBehaviour)
    /// `failpoint HOST:PORT JSON | off`: a `configureFailPoint` command for that server, in
    /// Extended JSON (`configureFailPoint: "failCommand"` may be left out), or `off`.
    case failPoint(String, BSONDocument)
    case add
    case remove(String)
    case status
    case quit

    /// Why a line is not a command.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// The commands and their arguments, for help and error messages.
    public static let usage =
        "stepdown | elect HOST:PORT | kill HOST:PORT | hang HOST:PORT | hostile HOST:PORT KIND [ARG] | failpoint HOST:PORT JSON|off | revive HOST:PORT (or normal HOST:PORT) | add | remove HOST:PORT | status | quit"

    /// Parses one line: a command word (any case) and, for some, one HOST:PORT argument.
    /// - Throws: `ParseError` naming the unknown word or the missing or extra argument.
    public init(parsing line: String) throws(ParseError) {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let word = words.first?.lowercased() else {
            throw ParseError(description: "empty command; expected \(Self.usage)")
        }
        let arguments = Array(words.dropFirst())
        func noArgument(_ command: ControlCommand) throws(ParseError) -> ControlCommand {
            guard arguments.isEmpty else {
                throw ParseError(description: "\(word) takes no argument, got '\(arguments.joined(separator: " "))'")
            }
            return command
        }
        func checkedAddress(_ address: String) throws(ParseError) -> String {
            guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
                  UInt16(address[address.index(after: colon)...]) != nil else {
                throw ParseError(description: "\(word) expects HOST:PORT, got '\(address)'")
            }
            return address
        }
        func address(_ make: (String) -> ControlCommand) throws(ParseError) -> ControlCommand {
            guard arguments.count == 1, let address = arguments.first else {
                throw ParseError(description: "\(word) takes one HOST:PORT argument, got \(arguments.count)")
            }
            return make(try checkedAddress(address))
        }
        func hostile() throws(ParseError) -> ControlCommand {
            guard (2...3).contains(arguments.count) else {
                throw ParseError(description: "hostile takes HOST:PORT KIND [ARG], got \(arguments.count) arguments; KIND is \(HostileBehaviour.usage)")
            }
            let address = try checkedAddress(arguments[0])
            return .hostile(address, try Self.hostileBehaviour(arguments[1].lowercased(), arguments.count == 3 ? arguments[2] : nil))
        }
        switch word {
        case "stepdown": self = try noArgument(.stepDown)
        case "elect": self = try address(ControlCommand.elect)
        case "kill": self = try address(ControlCommand.kill)
        case "hang": self = try address(ControlCommand.hang)
        case "revive", "normal": self = try address(ControlCommand.revive)
        case "hostile": self = try hostile()
        case "failpoint": self = try Self.failPoint(line, arguments: arguments, address: checkedAddress)
        case "add": self = try noArgument(.add)
        case "remove": self = try address(ControlCommand.remove)
        case "status": self = try noArgument(.status)
        case "quit", "exit": self = try noArgument(.quit)
        default: throw ParseError(description: "unknown command '\(word)'; expected \(Self.usage)")
        }
    }

    /// `failpoint HOST:PORT JSON`: the JSON is the rest of the line, spaces and all.
    private static func failPoint(
        _ line: String, arguments: [String], address checkedAddress: (String) throws(ParseError) -> String
    ) throws(ParseError) -> ControlCommand {
        guard arguments.count >= 2 else {
            throw ParseError(description: "failpoint takes HOST:PORT and a configureFailPoint document in JSON (or off)")
        }
        let address = try checkedAddress(arguments[0])
        // The rest of the line after the command word and the address.
        var rest = line[...]
        for _ in 0..<2 { rest = rest.trimmingSpaces.drop { $0 != " " && $0 != "\t" } }
        let text = rest.trimmingSpaces
        if text.lowercased() == "off" {
            return .failPoint(address, ["configureFailPoint": .string(FailCommandFailPoint.name), "mode": .string("off")])
        }
        var document: BSONDocument
        do {
            document = try ExtendedJSON.document(from: String(text))
        } catch {
            throw ParseError(description: "failpoint: the document is not valid JSON: \(error)")
        }
        if document["configureFailPoint"] == nil {
            document = BSONDocument([(key: "configureFailPoint", value: .string(FailCommandFailPoint.name))] + document.elements)
        }
        return .failPoint(address, document)
    }

    /// A hostile behaviour from its keyword and optional argument (defaults: trickle 100 ms,
    /// manyhosts 10,000, setname "hostileSet").
    private static func hostileBehaviour(_ kind: String, _ argument: String?) throws(ParseError) -> HostileBehaviour {
        func number(_ default: Int, _ range: ClosedRange<Int>) throws(ParseError) -> Int {
            guard let argument else { return `default` }
            guard let value = Int(argument), range.contains(value) else {
                throw ParseError(description: "hostile \(kind) expects a number in \(range.lowerBound)...\(range.upperBound), got '\(argument)'")
            }
            return value
        }
        func none(_ behaviour: HostileBehaviour) throws(ParseError) -> HostileBehaviour {
            if let argument { throw ParseError(description: "hostile \(kind) takes no argument, got '\(argument)'") }
            return behaviour
        }
        switch kind {
        case "garbage": return try none(.garbage)
        case "truncate": return try none(.truncatedReply)
        case "oversize": return try none(.oversizedLength)
        case "responseto": return try none(.wrongResponseTo)
        case "trickle": return .trickle(byteIntervalMS: try number(100, 1...60_000))
        case "reset": return try none(.resetMidReply)
        case "hellofail": return try none(.helloFailure)
        case "manyhosts": return .manyHosts(count: try number(10_000, 0...1_000_000))
        case "invalidhosts": return try none(.invalidHosts)
        case "duplicatehosts": return try none(.duplicateHosts)
        case "uppercase": return try none(.upperCaseHosts)
        case "setname": return .changedSetName(argument ?? "hostileSet")
        case "impatient": return try none(.ignoresMaxAwaitTime)
        case "badhandshake": return try none(.unreadableHandshake)
        default: throw ParseError(description: "unknown hostile behaviour '\(kind)'; expected \(HostileBehaviour.usage)")
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces, tabs and carriage returns.
    fileprivate var trimmingSpaces: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        var text = self.drop(while: blank)
        while let last = text.last, blank(last) { text = text.dropLast() }
        return text
    }
}
