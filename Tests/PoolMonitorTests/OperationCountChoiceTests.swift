import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The final choice: two distinct random servers from the window, the less busy one wins.
@Suite struct OperationCountChoiceTests {
    typealias F = SelectionFixtures

    static let window = ["a:27017", "b:27017", "c:27017"].map { F.server($0, .mongos) }

    @Test func emptyWindowGivesNothingAndOneServerIsTakenAsIs() {
        var generator = SplitMix64(seed: 7)
        #expect(OperationCountChoice.choose(from: [], operationCount: { _ in 0 }, using: &generator) == nil)
        let only = OperationCountChoice.choose(from: [F.server("a:27017", .mongos)], operationCount: { _ in 99 }, using: &generator)
        #expect(only?.address.description == "a:27017")
    }

    @Test func theBusiestServerIsNeverChosen() {
        var generator = SplitMix64(seed: 7)
        let counts = ["a:27017": 1, "b:27017": 2, "c:27017": 50]
        for _ in 0..<500 {
            let chosen = OperationCountChoice.choose(from: Self.window, operationCount: { counts[$0.description] ?? 0 }, using: &generator)
            #expect(chosen?.address.description != "c:27017")
        }
    }

    @Test func frequenciesFollowThePowerOfTwoChoices() {
        // Distinct pairs of three: the least busy wins 2 of 3 pairs, the middle 1 of 3.
        var generator = SplitMix64(seed: 42)
        let counts = ["a:27017": 3, "b:27017": 6, "c:27017": 20]
        var chosen: [String: Int] = [:]
        let iterations = 3000
        for _ in 0..<iterations {
            if let server = OperationCountChoice.choose(from: Self.window, operationCount: { counts[$0.description] ?? 0 }, using: &generator) {
                chosen[server.address.description, default: 0] += 1
            }
        }
        #expect(abs(Double(chosen["a:27017"] ?? 0) / Double(iterations) - 2.0 / 3) < 0.04)
        #expect(abs(Double(chosen["b:27017"] ?? 0) / Double(iterations) - 1.0 / 3) < 0.04)
        #expect(chosen["c:27017"] == nil)
    }

    @Test func equalCountsSpreadEvenly() {
        var generator = SplitMix64(seed: 3)
        var chosen: [String: Int] = [:]
        for _ in 0..<3000 {
            if let server = OperationCountChoice.choose(from: Self.window, operationCount: { _ in 5 }, using: &generator) {
                chosen[server.address.description, default: 0] += 1
            }
        }
        for address in ["a:27017", "b:27017", "c:27017"] {
            #expect(abs(Double(chosen[address] ?? 0) / 3000 - 1.0 / 3) < 0.04)
        }
    }

    @Test func sameSeedSameChoices() throws {
        var first = SplitMix64(seed: 9), second = SplitMix64(seed: 9)
        let counts: (ServerAddress) -> Int = { _ in 0 }
        let a = (0..<20).map { _ in OperationCountChoice.choose(from: Self.window, operationCount: counts, using: &first)?.address }
        let b = (0..<20).map { _ in OperationCountChoice.choose(from: Self.window, operationCount: counts, using: &second)?.address }
        #expect(a == b)
    }
}
