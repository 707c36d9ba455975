import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Name resolution on the caller's thread: literals never looked up, a name once, again after
/// a failed check forgot it.
@Suite struct ResolvedNameCacheTests {
    static func result(_ cache: ResolvedNameCache, _ host: String, _ port: UInt16) -> Result<[ResolvedAddress], NameResolver.ResolutionError>? {
        var got: Result<[ResolvedAddress], NameResolver.ResolutionError>?
        cache.addresses(host: host, port: port) { got = $0 }
        return got
    }

    @Test func aNameIsLookedUpOnceUntilForgottenAndLiteralsNever() {
        var lookedUp: [String] = []
        let cache = ResolvedNameCache(lookup: { host, port, completion in
            lookedUp.append(host)
            completion(.success([ResolvedAddress(ipLiteral: "10.0.0.7", port: port)!]))
        })
        let a = ServerAddress(host: "db-a.example", port: 27017)
        _ = Self.result(cache, a.host, a.port)
        _ = Self.result(cache, "127.0.0.1", 27018)
        #expect((try? Self.result(cache, a.host, a.port)?.get()) == [ResolvedAddress(ipLiteral: "10.0.0.7", port: 27017)!])
        #expect(lookedUp == ["db-a.example"])
        #expect(cache.lookups == 1)
        cache.forget(a)
        _ = Self.result(cache, a.host, a.port)
        #expect(cache.lookups == 2)
    }

    @Test func aFailedLookupIsNotCached() {
        let cache = ResolvedNameCache(lookup: { host, _, completion in
            completion(.failure(NameResolver.ResolutionError(host: host, reason: "no such host")))
        })
        _ = Self.result(cache, "nowhere.example", 1)
        _ = Self.result(cache, "nowhere.example", 1)
        #expect(cache.lookups == 2)
    }
}
