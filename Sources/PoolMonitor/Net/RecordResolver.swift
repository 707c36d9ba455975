import SDAMCore

/// The bounded resolver of SRV and TXT records: its own slots and its own threads, apart from
/// the address lookups' (`BoundedResolver`), so a slow SRV rescan never holds up a reconnect,
/// and a reconnect storm never delays a rescan.
///
/// One request asks for a seedlist's records: the SRV records of `_service._tcp.host` and,
/// for the initial discovery, the TXT records of `host`, looked up one after the other on one
/// thread. Requests for the same names join one lookup (two pools on one cluster).
package final class RecordResolver: Sendable {
    /// The process's record resolver: two lookups at once, on two threads named "sdam-dns".
    package static let shared = RecordResolver(maxInFlight: 2, workers: WorkerThreads(count: 2, name: "sdam-dns"))

    /// What to look up.
    package struct Query: Hashable, Sendable {
        package var srvName: String
        /// Nil: SRV only (a rescan).
        package var txtName: String?

        package init(srvName: String, txtName: String?) {
            self.srvName = srvName
            self.txtName = txtName
        }
    }

    /// What came back; `txt` is empty for a rescan, and for a name without TXT records.
    package struct Answer: Sendable, Equatable {
        package var srv: [SRVRecord]
        package var txt: [TXTRecord]

        package init(srv: [SRVRecord], txt: [TXTRecord] = []) {
            self.srv = srv
            self.txt = txt
        }
    }

    package typealias Outcome = Result<Answer, DNSLookupError>
    package typealias Lookup = @Sendable (Query) -> Outcome

    private let lookups: BoundedLookups<Query, Outcome>

    /// - Parameters:
    ///   - lookup: the blocking lookup; libresolv's unless a test injects its own.
    package init(maxInFlight: Int, workers: WorkerThreads, lookup: @escaping Lookup = RecordResolver.lookUpBlocking) {
        lookups = BoundedLookups(maxInFlight: maxInFlight, workers: workers, lookup: lookup)
    }

    /// A resolver for tests: `lookup` runs on threads of its own.
    package convenience init(lookup: @escaping Lookup) {
        self.init(maxInFlight: 2, workers: WorkerThreads(count: 2, name: "sdam-dns-test"), lookup: lookup)
    }

    /// Looks the records up off the calling thread; `completion` runs on a resolver thread.
    package func lookUp(_ query: Query, completion: @escaping @Sendable (Outcome) -> Void) {
        lookups.lookUp(query, completion: completion)
    }

    /// Lookups running now, and the most that ever ran at once.
    package var counts: (inFlight: Int, peak: Int) { lookups.counts }

    /// The blocking lookup: SRV, then TXT when asked for. A single-threaded client calls it on
    /// its own thread.
    package static func lookUpBlocking(_ query: Query) -> Outcome {
        let srv: [SRVRecord]
        switch DNSLookup.srv(query.srvName) {
        case .success(let records): srv = records
        case .failure(let error): return .failure(error)
        }
        guard let txtName = query.txtName else { return .success(Answer(srv: srv)) }
        return DNSLookup.txt(txtName).map { Answer(srv: srv, txt: $0) }
    }
}
