import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The SRV/TXT resolver: slots and threads apart from the address lookups', one lookup per
/// query, and res_nsearch's errors in the spec's words.
@Suite struct RecordResolverTests {
    static let query = RecordResolver.Query(srvName: "_mongodb._tcp.c.example.com", txtName: "c.example.com")

    @Test("a hung SRV lookup holds up no address lookup: its own slots, its own threads")
    func hungRecordLookupDoesNotDelayAddresses() {
        let gate = BoundedResolverTests.GatedLookup()
        let records = RecordResolver(maxInFlight: 1, workers: WorkerThreads(count: 1, name: "dns-hung-test")) { query in
            _ = gate.lookup(host: query.srvName, port: 0)
            return .success(RecordResolver.Answer(srv: [SRVRecord(port: 27017, target: "a.example.com")]))
        }
        let recordDone = ConditionLock(false)
        records.lookUp(Self.query) { _ in
            recordDone.withLock { $0 = true }
            recordDone.broadcast()
        }
        #expect(gate.waitForCalls(1))
        // Saturate the address resolver's shared worker threads' queue too: it must not matter.
        let addresses = BoundedResolver(maxInFlight: 4) { host, port in .success([ResolvedAddress(ipLiteral: "127.0.0.1", port: port)!]) }
        let resolved = ConditionLock(0)
        for i in 0..<8 {
            addresses.resolve(host: "h\(i).example", port: 27017) { _ in
                resolved.withLock { $0 += 1 }
                resolved.broadcast()
            }
        }
        let count = resolved.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0 == 8 ? $0 : nil }
        #expect(count == 8, "address lookups finished while the SRV lookup hung")
        #expect(records.counts.inFlight == 1 && !recordDone.withLock { $0 })
        gate.open()
        #expect(recordDone.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0 ? true : nil } == true)
    }

    @Test("requests for the same names share one lookup")
    func sameQueryJoins() {
        let gate = BoundedResolverTests.GatedLookup()
        let records = RecordResolver(maxInFlight: 2, workers: WorkerThreads(count: 2, name: "dns-join-test")) { query in
            _ = gate.lookup(host: query.srvName, port: 0)
            return .failure(DNSLookupError(type: .srv, name: query.srvName, reason: .nameDoesNotExist))
        }
        let outcomes = ConditionLock<[RecordResolver.Outcome]>([])
        for _ in 0..<3 {
            records.lookUp(Self.query) { outcome in
                outcomes.withLock { $0.append(outcome) }
                outcomes.broadcast()
            }
        }
        #expect(gate.waitForCalls(1))
        gate.open()
        let all = outcomes.wait(until: MonotonicClock.nanoseconds() + 5_000_000_000) { $0.count == 3 ? $0 : nil }
        #expect(all?.count == 3 && gate.state.withLock { $0.calls.values.reduce(0, +) } == 1)
        if case .failure(let error) = all?.first {
            #expect("\(error)" == "SRV lookup of _mongodb._tcp.c.example.com failed: NXDOMAIN")
        } else {
            Issue.record("expected the NXDOMAIN failure")
        }
    }

    @Test("h_errno and errno in the spec's words")
    func reasons() {
        #expect(DNSLookup.reason(herrno: 1, errno: 0) == .nameDoesNotExist)  // HOST_NOT_FOUND
        #expect(DNSLookup.reason(herrno: 4, errno: 0) == .noRecords)  // NO_DATA
        #expect(DNSLookup.reason(herrno: 2, errno: 110) == .timedOut)  // TRY_AGAIN, ETIMEDOUT
        #expect(DNSLookup.reason(herrno: 2, errno: 0) == .temporaryFailure)
        #expect(DNSLookup.reason(herrno: 3, errno: 0) == .refused)  // NO_RECOVERY
        #expect(DNSLookupError(type: .txt, name: "x", reason: .noRecords).isNegativeAnswer)
    }
}
