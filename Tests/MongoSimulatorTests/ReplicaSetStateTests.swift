import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

@Suite struct ReplicaSetStateTests {
    let a = "127.0.0.1:1", b = "127.0.0.1:2", c = "127.0.0.1:3"

    @Test func startsWithoutPrimaryAtTermZero() {
        let set = ReplicaSetState(name: "rs0", members: [a, b, c])
        #expect(set.primary == nil)
        #expect(set.term == 0)
        #expect(set.electionId == nil)
        #expect(set.setVersion == 1)
        #expect(set.role(of: a) == .secondary)
        #expect(set.role(of: "127.0.0.1:9") == nil)
    }

    @Test func eachElectionGrowsTheElectionId() throws {
        var set = ReplicaSetState(name: "rs0", members: [a, b, c])
        try set.elect(a)
        let first = try #require(set.electionId)
        #expect(first.hex == "7fffffff0000000000000001")
        #expect(set.role(of: a) == .primary)
        try set.stepDown()
        try set.elect(b)
        let second = try #require(set.electionId)
        #expect(first < second)
        #expect(set.primary == b)
        #expect(set.role(of: a) == .secondary)
    }

    @Test func electingThePrimaryAgainChangesNothing() throws {
        var set = ReplicaSetState(name: "rs0", members: [a, b])
        try set.elect(a)
        let before = set
        try set.elect(a)
        #expect(set == before)
    }

    @Test func electingAStrangerFails() {
        var set = ReplicaSetState(name: "rs0", members: [a])
        #expect(throws: SimulatorError.unknownServer(b)) { try set.elect(b) }
    }

    @Test func stepDownWithoutPrimaryFails() {
        var set = ReplicaSetState(name: "rs0", members: [a])
        #expect(throws: SimulatorError.noPrimary) { try set.stepDown() }
    }

    @Test func candidatePrefersAnotherEligibleMember() {
        let set = ReplicaSetState(name: "rs0", members: [a, b, c])
        #expect(set.electionCandidate(excluding: a) { _ in true } == b)
        #expect(set.electionCandidate(excluding: a) { $0 == c } == c)
        // Only the old primary can serve: it is re-elected.
        #expect(set.electionCandidate(excluding: a) { $0 == a } == a)
        #expect(set.electionCandidate(excluding: a) { _ in false } == nil)
    }

    @Test func addingAndRemovingMembersBumpsSetVersion() throws {
        var set = ReplicaSetState(name: "rs0", members: [a, b])
        try set.elect(b)
        try set.addMember(c)
        #expect(set.members == [a, b, c])
        #expect(set.setVersion == 2)
        #expect(throws: SimulatorError.duplicateMember(c)) { try set.addMember(c) }
        try set.removeMember(b)
        #expect(set.members == [a, c])
        #expect(set.primary == nil)
        #expect(set.setVersion == 3)
        #expect(throws: SimulatorError.unknownServer(b)) { try set.removeMember(b) }
    }
}
