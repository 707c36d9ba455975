import Testing
import Synchronization
import MongoAuth

/// The key cache: N conversations with one credential run PBKDF2 once, concurrently too, and a
/// changed password (or salt, count, mechanism) derives again.
@Suite struct ScramKeyCacheTests {
    /// Counts the derivations a cache asks for, and derives for real.
    final class CountingDerivation: Sendable {
        private let calls = Mutex(0)
        var count: Int { calls.withLock { $0 } }

        func derive(_ mechanism: ScramMechanism, _ password: [UInt8], _ salt: [UInt8], _ iterations: Int) -> ScramKeys {
            calls.withLock { $0 += 1 }
            return ScramKeys.derive(mechanism: mechanism, preparedPassword: password, salt: salt, iterations: iterations)
        }
    }

    private func cache(counting counter: CountingDerivation) -> ScramKeyCache {
        ScramKeyCache { counter.derive($0, $1, $2, $3) }
    }

    @Test(arguments: ScramMechanism.allCases)
    func nConversationsDeriveOnce(mechanism: ScramMechanism) throws {
        let counter = CountingDerivation()
        let keyCache = cache(counting: counter)
        let stored = try credential("alice", "pw", mechanism)
        for _ in 0..<8 {
            var server = ScramServerConversation(credentials: [stored])
            var client = try ScramClientConversation(mechanism: mechanism, username: "alice", password: "pw", keyCache: keyCache)
            try converse(&client, with: &server)
            #expect(server.authenticatedUser == "alice")
        }
        #expect(counter.count == 1)
        #expect(keyCache.count == 1)
    }

    /// Connections that authenticate at the same moment still derive once: the miss is filled
    /// under the lock.
    @Test func concurrentConversationsDeriveOnce() async throws {
        let counter = CountingDerivation()
        let keyCache = cache(counting: counter)
        let stored = try credential("alice", "pw", .sha256)
        let users = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    var server = ScramServerConversation(credentials: [stored])
                    var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: "pw", keyCache: keyCache)
                    try converse(&client, with: &server)
                    return server.authenticatedUser
                }
            }
            var users: [String?] = []
            for try await user in group { users.append(user) }
            return users
        }
        #expect(users == Array(repeating: "alice", count: 16))
        #expect(counter.count == 1)
    }

    /// The password is part of the entry's identity: after a password change the new one
    /// derives (and authenticates), and the old entry does not answer for it.
    @Test func aChangedPasswordDerivesAgain() throws {
        let counter = CountingDerivation()
        let keyCache = cache(counting: counter)
        for (password, expected) in [("old", 1), ("old", 1), ("new", 2), ("new", 2), ("old", 2)] {
            var server = ScramServerConversation(credentials: [try credential("alice", password, .sha256)])
            var client = try ScramClientConversation(mechanism: .sha256, username: "alice", password: password, keyCache: keyCache)
            try converse(&client, with: &server)
            #expect(counter.count == expected)
        }
        #expect(keyCache.count == 2)
    }

    @Test func saltIterationsAndMechanismArePartOfTheKey() {
        let counter = CountingDerivation()
        let keyCache = cache(counting: counter)
        let password = Array("pw".utf8)
        let a = keyCache.keys(mechanism: .sha256, preparedPassword: password, salt: [1, 2, 3], iterations: 4096)
        _ = keyCache.keys(mechanism: .sha256, preparedPassword: password, salt: [1, 2, 4], iterations: 4096)
        _ = keyCache.keys(mechanism: .sha256, preparedPassword: password, salt: [1, 2, 3], iterations: 4097)
        _ = keyCache.keys(mechanism: .sha1, preparedPassword: password, salt: [1, 2, 3], iterations: 4096)
        #expect(counter.count == 4)
        #expect(keyCache.keys(mechanism: .sha256, preparedPassword: password, salt: [1, 2, 3], iterations: 4096) == a)
        #expect(counter.count == 4)
        #expect(a == ScramKeys.derive(mechanism: .sha256, preparedPassword: password, salt: [1, 2, 3], iterations: 4096))
        keyCache.removeAll()
        #expect(keyCache.count == 0)
    }

    /// Past its capacity the cache starts over rather than growing without bound.
    @Test func theCacheIsBounded() {
        let keyCache = ScramKeyCache { mechanism, _, _, _ in ScramKeys(mechanism: mechanism, clientKey: [], serverKey: []) }
        for i in 0..<(ScramKeyCache.capacity * 3) {
            _ = keyCache.keys(mechanism: .sha1, preparedPassword: [UInt8(i)], salt: [0], iterations: 4096)
            #expect(keyCache.count <= ScramKeyCache.capacity)
        }
    }
}
