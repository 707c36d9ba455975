import Testing
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The monitor's resolver: a fixed number of blocking lookups in flight, one per host.
@Suite struct BoundedResolverTests {
    /// A lookup that blocks until the test opens the gate, counting the calls per host.
    final class GatedLookup: Sendable {
        let state = ConditionLock((open: false, calls: [String: Int]()))

        func lookup(host: String, port: UInt16) -> Result<[ResolvedAddress], NameResolver.ResolutionError> {
            state.withLock { $0.calls[host, default: 0] += 1 }
            state.broadcast()
            _ = state.wait(until: MonotonicClock.nanoseconds() + 20_000_000_000) { $0.open ? true : nil }
            return .success([ResolvedAddress(ipLiteral: "127.0.0.1", port: port)!])
        }

        func open() {
            state.withLock { $0.open = true }
            state.broadcast()
        }

        func waitForCalls(_ count: Int) -> Bool {
            state.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { s in
                s.calls.values.reduce(0, +) >= count ? true : nil
            } ?? false
        }
    }

    @Test func atMostMaxInFlightLookupsRunAtOnce() {
        let gate = GatedLookup()
        let resolver = BoundedResolver(maxInFlight: 3) { gate.lookup(host: $0, port: $1) }
        let done = ConditionLock(0)
        for i in 0..<20 {
            resolver.resolve(host: "host\(i).example", port: 27017) { result in
                if case .success = result { done.withLock { $0 += 1 } }
                done.broadcast()
            }
        }
        #expect(gate.waitForCalls(3))
        // The gate is shut: the first three block, the other seventeen must still be queued.
        #expect(resolver.counts.inFlight == 3)
        #expect(gate.state.withLock { $0.calls.count } == 3)
        gate.open()
        let finished = done.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0 == 20 ? $0 : nil }
        #expect(finished == 20)
        #expect(resolver.counts.peak == 3)
        #expect(gate.state.withLock { $0.calls.count } == 20)
    }

    @Test func requestsForOneHostShareOneLookup() {
        let gate = GatedLookup()
        let resolver = BoundedResolver(maxInFlight: 4) { gate.lookup(host: $0, port: $1) }
        let done = ConditionLock(0)
        for _ in 0..<5 {
            resolver.resolve(host: "slow.example", port: 27017) { _ in
                done.withLock { $0 += 1 }
                done.broadcast()
            }
        }
        #expect(gate.waitForCalls(1))
        gate.open()
        #expect(done.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0 == 5 ? $0 : nil } == 5)
        #expect(gate.state.withLock { $0.calls["slow.example"] } == 1)
        // Once it has answered, a new request looks the host up again (no caching of answers).
        resolver.resolve(host: "slow.example", port: 27017) { _ in
            done.withLock { $0 += 1 }
            done.broadcast()
        }
        #expect(done.wait(until: MonotonicClock.nanoseconds() + 10_000_000_000) { $0 == 6 ? $0 : nil } == 6)
        #expect(gate.state.withLock { $0.calls["slow.example"] } == 2)
    }
}
