/// One line of the `sdam simulate` control protocol, parsed. Pure.
public enum ControlCommand: Sendable, Equatable {
    case stepDown
    case elect(String)
    case kill(String)
    case hang(String)
    case revive(String)
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
        "stepdown | elect HOST:PORT | kill HOST:PORT | hang HOST:PORT | revive HOST:PORT | add | remove HOST:PORT | status | quit"

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
        func address(_ make: (String) -> ControlCommand) throws(ParseError) -> ControlCommand {
            guard arguments.count == 1, let address = arguments.first else {
                throw ParseError(description: "\(word) takes one HOST:PORT argument, got \(arguments.count)")
            }
            guard let colon = address.lastIndex(of: ":"), colon != address.startIndex,
                  UInt16(address[address.index(after: colon)...]) != nil else {
                throw ParseError(description: "\(word) expects HOST:PORT, got '\(address)'")
            }
            return make(address)
        }
        switch word {
        case "stepdown": self = try noArgument(.stepDown)
        case "elect": self = try address(ControlCommand.elect)
        case "kill": self = try address(ControlCommand.kill)
        case "hang": self = try address(ControlCommand.hang)
        case "revive": self = try address(ControlCommand.revive)
        case "add": self = try noArgument(.add)
        case "remove": self = try address(ControlCommand.remove)
        case "status": self = try noArgument(.status)
        case "quit", "exit": self = try noArgument(.quit)
        default: throw ParseError(description: "unknown command '\(word)'; expected \(Self.usage)")
        }
    }
}
