import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoSimulator

/// Mongos routers and a standalone, and what only a replica set can do.
@Suite struct SimulatorKindsTests {
    @Test func mongosAnswerIsdbgrid() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 3)))
        defer { simulator.stop() }
        #expect(simulator.addresses.count == 3)
        for address in simulator.addresses {
            let reply = try simulator.hello(address)
            #expect(reply["msg"] == .string("isdbgrid"))
            #expect(reply["isWritablePrimary"] == .bool(true))
            #expect(try ServerDescription.parse(address: ServerAddress(address)!, hello: reply).type == .mongos)
        }
        #expect(throws: SimulatorError.unsupported(operation: "stepDown", kind: "sharded cluster")) { try simulator.stepDown() }
        let added = try simulator.addMember()
        #expect(try simulator.hello(added)["msg"] == .string("isdbgrid"))
        try simulator.removeMember(added)
        #expect(simulator.addresses.count == 3)
    }

    @Test func standaloneByDefault() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration())
        defer { simulator.stop() }
        let address = try #require(simulator.addresses.first)
        let reply = try simulator.hello(address)
        #expect(try ServerDescription.parse(address: ServerAddress(address)!, hello: reply).type == .standalone)
        #expect(throws: SimulatorError.unsupported(operation: "add", kind: "standalone")) { try simulator.addMember() }
    }

    @Test func invalidConfigurationsAreRefused() {
        #expect(throws: SimulatorError.invalidConfiguration("a deployment needs at least one server, got 0")) {
            try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 0)))
        }
        #expect(throws: SimulatorError.invalidConfiguration("the replica set name is empty")) {
            try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "", members: 1)))
        }
    }

    @Test func aTakenPortFailsTheStartCleanly() throws {
        let first = try MongoSimulator(SimulatorConfiguration())
        defer { first.stop() }
        let port = try #require(first.addresses.first.flatMap { ServerAddress($0)?.port })
        #expect(throws: SimulatorError.self) {
            try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 1), portBase: port))
        }
    }

    @Test func controlCallsAfterStopFail() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs", members: 1)))
        simulator.stop()
        simulator.stop()
        #expect(throws: SimulatorError.stopped) { try simulator.stepDown() }
        #expect(simulator.addresses.isEmpty)
    }

    @Test func consoleAnswersOneLinePerCommand() throws {
        let simulator = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 2)))
        defer { simulator.stop() }
        let console = ControlConsole(simulator: simulator)
        #expect(console.readyLine == "ready " + simulator.addresses.joined(separator: ","))
        let second = simulator.addresses[1]
        #expect(console.respond(to: "stepdown") == ("ok stepped down", false))
        #expect(console.respond(to: "status").answer.contains("primary \(second)"))
        #expect(console.respond(to: "add").answer.hasPrefix("ok 127.0.0.1:"))
        #expect(console.respond(to: "kill 127.0.0.1:1").answer == "error no simulated server at 127.0.0.1:1")
        #expect(console.respond(to: "hang \(second)") == ("ok hung \(second)", false))
        #expect(console.respond(to: "revive \(second)") == ("ok revived \(second)", false))
        #expect(console.respond(to: "quit") == ("ok bye", true))
    }
}
