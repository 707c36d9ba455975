import Testing
@testable import MongoSimulator

@Suite struct ControlCommandTests {
    /// The parse error's words for `line`, or "parsed".
    func message(_ line: String) -> String {
        do {
            _ = try ControlCommand(parsing: line)
            return "parsed"
        } catch {
            return error.description
        }
    }

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
        #expect(try ControlCommand(parsing: "normal 127.0.0.1:5") == .revive("127.0.0.1:5"))
    }

    @Test func parsesEveryHostileBehaviour() throws {
        let host = "127.0.0.1:5"
        let cases: [(String, HostileBehaviour)] = [
            ("garbage", .garbage), ("truncate", .truncatedReply), ("oversize", .oversizedLength),
            ("responseto", .wrongResponseTo), ("trickle", .trickle(byteIntervalMS: 100)),
            ("TRICKLE 20", .trickle(byteIntervalMS: 20)), ("reset", .resetMidReply), ("hellofail", .helloFailure),
            ("manyhosts", .manyHosts(count: 10_000)), ("manyhosts 50", .manyHosts(count: 50)),
            ("invalidhosts", .invalidHosts), ("duplicatehosts", .duplicateHosts), ("uppercase", .upperCaseHosts),
            ("setname", .changedSetName("hostileSet")), ("setname Other", .changedSetName("Other")),
        ]
        for (words, behaviour) in cases {
            #expect(try ControlCommand(parsing: "hostile \(host) \(words)") == .hostile(host, behaviour))
        }
    }

    @Test func badHostileLinesSayWhatWasExpected() {
        #expect(message("hostile 127.0.0.1:5").hasPrefix("hostile takes HOST:PORT KIND [ARG], got 1 arguments"))
        #expect(message("hostile 127.0.0.1:5 explode").hasPrefix("unknown hostile behaviour 'explode'"))
        #expect(message("hostile 127.0.0.1:5 trickle 0") == "hostile trickle expects a number in 1...60000, got '0'")
        #expect(message("hostile 127.0.0.1:5 garbage 3") == "hostile garbage takes no argument, got '3'")
        #expect(message("hostile nohost garbage") == "hostile expects HOST:PORT, got 'nohost'")
    }

    @Test func badLinesSayWhatWasExpected() {
        #expect(message("").hasPrefix("empty command"))
        #expect(message("reboot").hasPrefix("unknown command 'reboot'"))
        #expect(message("kill") == "kill takes one HOST:PORT argument, got 0")
        #expect(message("kill localhost") == "kill expects HOST:PORT, got 'localhost'")
        #expect(message("kill h:99999") == "kill expects HOST:PORT, got 'h:99999'")
        #expect(message("add 1") == "add takes no argument, got '1'")
    }
}
