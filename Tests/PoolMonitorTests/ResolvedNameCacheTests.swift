import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Name resolution on the caller's thread: literals never looked up, a name once, again after
/// a failed check forgot it.
@Suite struct ResolvedNameCacheTests {
    @Test func aNameIsLookedUpOnceUntilForgottenAndLiteralsNever() {
        let lookedUp = ConditionLock<[String]>([])
        let cache = ResolvedNameCache { host, port in
            lookedUp.withLock { $0.append(host) }
            return .success([ResolvedAddress(ipLiteral: "10.0.0.7", port: port)!])
        }
        let a = ServerAddress(host: "db-a.example", port: 27017)
        cache.prefetch([a, ServerAddress(host: "127.0.0.1", port: 27018), a])
        #expect(lookedUp.withLock { $0 } == ["db-a.example"])
        #expect((try? cache.addresses(host: a.host, port: a.port).get()) == [ResolvedAddress(ipLiteral: "10.0.0.7", port: 27017)!])
        #expect(cache.lookups == 1)
        cache.forget(a)
        _ = cache.addresses(host: a.host, port: a.port)
        #expect(cache.lookups == 2)
    }

    @Test func aFailedLookupIsNotCached() {
        let cache = ResolvedNameCache { host, _ in .failure(NameResolver.ResolutionError(host: host, reason: "no such host")) }
        _ = cache.addresses(host: "nowhere.example", port: 1)
        _ = cache.addresses(host: "nowhere.example", port: 1)
        #expect(cache.lookups == 2)
    }
}
