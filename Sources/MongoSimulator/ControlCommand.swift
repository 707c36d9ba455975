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

/// Carries out control lines on a simulator and words the one-line answers of
/// `sdam simulate`: `ok ...` or `error ...`.
public struct ControlConsole: Sendable {
    public let simulator: MongoSimulator

    public init(simulator: MongoSimulator) {
        self.simulator = simulator
    }

    /// The `ready` line printed once every server listens.
    public var readyLine: String { "ready " + simulator.addresses.joined(separator: ",") }

    /// Runs one line.
    /// - Returns: the answer line, and whether the console should stop (after `quit`).
    public func respond(to line: String) -> (answer: String, quit: Bool) {
        let command: ControlCommand
        do {
            command = try ControlCommand(parsing: line)
        } catch {
            return ("error \(error)", false)
        }
        do throws(SimulatorError) {
            switch command {
            case .stepDown:
                try simulator.stepDown()
                return ("ok stepped down", false)
            case .elect(let address):
                try simulator.elect(address)
                return ("ok elected \(address)", false)
            case .kill(let address):
                try simulator.kill(address)
                return ("ok killed \(address)", false)
            case .hang(let address):
                try simulator.hang(address)
                return ("ok hung \(address)", false)
            case .revive(let address):
                try simulator.revive(address)
                return ("ok revived \(address)", false)
            case .add:
                return ("ok " + (try simulator.addMember()), false)
            case .remove(let address):
                try simulator.removeMember(address)
                return ("ok removed \(address)", false)
            case .status:
                return ("ok " + (try simulator.status()), false)
            case .quit:
                return ("ok bye", true)
            }
        } catch {
            return ("error \(error)", false)
        }
    }
}
