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
            case .hostile(let address, let behaviour):
                try simulator.makeHostile(address, behaviour)
                return ("ok \(address) hostile \(behaviour)", false)
            case .failPoint(let address, let command):
                let reply = try simulator.configureFailPoint(command, on: address)
                guard reply["ok"]?.isTruthy == true else {
                    return ("error \(address) refused the fail point: \(reply["errmsg"]?.stringValue ?? "\(reply)")", false)
                }
                return ("ok \(address) fail point \(command["mode"]?.relaxedExtendedJSON() ?? "set")", false)
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
