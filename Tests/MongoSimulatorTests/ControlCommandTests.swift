import Testing
@testable import MongoSimulator

@Suite struct ControlCommandTests {
    @Test func parsesEveryCommand() throws {
        #expect(try ControlCommand(parsing: "stepdown") == .stepDown)
        #expect(try ControlCommand(parsing: "  ELECT 127.0.0.1:5 ") == .elect("127.0.0.1:5"))
        #expect(try ControlCommand(parsing: "kill 127.0.0.1:5") == .kill("127.0.0.1:5"))
        #expect(try ControlCommand(parsing: "hang 127.0.0.1:5") == .hang("127.0.0.1:5"))
        #expect(try ControlCommand(parsing: "revive 127.0.0.1:5") == .revive("127.0.0.1:5"))
        #expect(try ControlCommand(parsing: "add") == .add)
        #expect(try ControlCommand(parsing: "remove 127.0.0.1:5") == .remove("127.0.0.1:5"))
        #expect(try ControlCommand(parsing: "status") == .status)
        #expect(try ControlCommand(parsing: "quit\r") == .quit)
    }

    @Test func badLinesSayWhatWasExpected() {
        func message(_ line: String) -> String {
            do {
                _ = try ControlCommand(parsing: line)
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(message("").hasPrefix("empty command"))
        #expect(message("reboot").hasPrefix("unknown command 'reboot'"))
        #expect(message("kill") == "kill takes one HOST:PORT argument, got 0")
        #expect(message("kill localhost") == "kill expects HOST:PORT, got 'localhost'")
        #expect(message("kill h:99999") == "kill expects HOST:PORT, got 'h:99999'")
        #expect(message("add 1") == "add takes no argument, got '1'")
    }
}
