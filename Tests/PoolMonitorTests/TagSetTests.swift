import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Tag sets: tried in order, the first that matches any candidate wins, `{}` matches all.
@Suite struct TagSetTests {
    typealias F = SelectionFixtures

    @Test func aTagSetMatchesServersWhoseTagsIncludeIt() throws {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "ny", "rack": "1"]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == ["s1:27017"])
    }

    @Test func firstMatchingSetWinsAndLaterSetsAreIgnored() throws {
        let readPreference = ReadPreference(mode: .nearest, tagSets: [["dc": "tokyo"], ["dc": "sf"], ["dc": "ny"]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == ["s2:27017"])
    }

    @Test func emptyTagSetMatchesEveryCandidate() throws {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "tokyo"], [:]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == ["s1:27017", "s2:27017"])
    }

    @Test func emptyListMatchesEveryCandidate() throws {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == ["s1:27017", "s2:27017"])
    }

    @Test func noMatchingSetLeavesNothingEligible() throws {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["dc": "tokyo"], ["rack": "9"]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == [])
    }

    @Test func tagValuesMustBeEqualNotJustPresent() throws {
        let readPreference = ReadPreference(mode: .secondary, tagSets: [["rack": "2"]])
        #expect(try F.suitable(.read(readPreference), in: F.replicaSet) == [])
    }
}
