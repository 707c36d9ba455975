import Testing
@testable import MongoBSON
@testable import SDAMCore

/// `ServerMap.changes(since:)`: what `sdam watch --changes` lists for a topology change.
@Suite struct ServerMapChangesTests {
    typealias F = SDAMFixtures

    @Test func listsAddedChangedAndRemovedServersOnly() {
        let a = F.address("a:27017"), b = F.address("b:27017"), c = F.address("c:27017")
        var before = ServerMap()
        _ = before.updateValue(ServerDescription(address: a), forKey: a)
        _ = before.updateValue(ServerDescription(address: b), forKey: b)
        var after = before
        _ = after.updateValue(F.description("a:27017", F.primary(hosts: ["a:27017"])), forKey: a)
        _ = after.removeValue(forKey: b)
        _ = after.updateValue(ServerDescription(address: c), forKey: c)
        let (changed, removed) = after.changes(since: before)
        #expect(changed.map(\.address) == [a, c])
        #expect(removed == [b])
        #expect(after.changes(since: after).changed.isEmpty, "nothing changed")
    }
}
