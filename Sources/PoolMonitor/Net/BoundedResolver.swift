
/// Runs blocking lookups off the loop with a fixed number in flight, one per key at a time
/// (architecture rule 2: "DNS … run off the loop on a bounded resolver").
///
/// An unbounded concurrent queue gave every unresolved host its own thread: 1,000 seeds behind
/// a slow DNS server meant 1,000 threads stuck in `getaddrinfo`. Here at most `maxInFlight`
/// lookups run at once, on `workers`; the rest wait in arrival order. A request for a key whose
/// lookup is already running or queued joins it instead of starting another, so a check that
/// starts while a lookup hangs waits for that lookup rather than piling up more.
package final class BoundedLookups<Key: Hashable & Sendable, Answer: Sendable>: Sendable {
    package typealias Completion = @Sendable (Answer) -> Void

    private struct State {
        /// Completions per key, running or queued; one lookup serves them all.
        var waiting: [Key: [Completion]] = [:]
        /// Keys waiting for a free slot, in arrival order.
        var queue: [Key] = []
        var inFlight = 0
        /// The most lookups ever in flight at once (for tests).
        var peakInFlight = 0
    }

    package let maxInFlight: Int
    private let workers: WorkerThreads
    private let lookup: @Sendable (Key) -> Answer
    private let state = ConditionLock(State())

    /// - Parameters:
    ///   - maxInFlight: lookups that may run at once (at least 1).
    ///   - workers: the threads the lookups block.
    ///   - lookup: the blocking lookup.
    package init(maxInFlight: Int, workers: WorkerThreads, lookup: @escaping @Sendable (Key) -> Answer) {
        self.maxInFlight = max(1, maxInFlight)
        self.workers = workers
        self.lookup = lookup
    }

    /// Looks `key` up off the calling thread; `completion` runs on a worker thread.
    package func lookUp(_ key: Key, completion: @escaping Completion) {
        let start = state.withLock { s -> Bool in
            if s.waiting[key] != nil {
                s.waiting[key]!.append(completion)
                return false
            }
            s.waiting[key] = [completion]
            s.queue.append(key)
            return true
        }
        if start { startQueued() }
    }

    /// Lookups running now, and the most that ever ran at once.
    package var counts: (inFlight: Int, peak: Int) {
        state.withLock { ($0.inFlight, $0.peakInFlight) }
    }

    /// Starts queued lookups while slots are free.
    private func startQueued() {
        while let key = state.withLock({ s -> Key? in
            guard s.inFlight < maxInFlight, !s.queue.isEmpty else { return nil }
            s.inFlight += 1
            s.peakInFlight = max(s.peakInFlight, s.inFlight)
            return s.queue.removeFirst()
        }) {
            workers.submit { [self] in
                let result = lookup(key)
                let completions = state.withLock { s -> [Completion] in
                    s.inFlight -= 1
                    return s.waiting.removeValue(forKey: key) ?? []
                }
                for completion in completions { completion(result) }
                startQueued()
            }
        }
    }
}

/// The bounded resolver of host names (`getaddrinfo`), on the driver's shared worker threads.
package final class BoundedResolver: Sendable {
    /// The process's resolver: monitors of every pool share it, so the bound is per process.
    package static let shared = BoundedResolver(maxInFlight: 4)

    package typealias Completion = @Sendable (Result<[ResolvedAddress], NameResolver.ResolutionError>) -> Void
    package typealias Lookup = @Sendable (_ host: String, _ port: UInt16) -> Result<[ResolvedAddress], NameResolver.ResolutionError>

    private struct Key: Hashable {
        var host: String
        var port: UInt16
    }

    private let lookups: BoundedLookups<Key, Result<[ResolvedAddress], NameResolver.ResolutionError>>

    package var maxInFlight: Int { lookups.maxInFlight }

    /// - Parameters:
    ///   - maxInFlight: lookups that may run at once (at least 1).
    ///   - lookup: the blocking lookup; `getaddrinfo` unless a test injects its own.
    package init(maxInFlight: Int, lookup: @escaping Lookup = NameResolver.resolveBlocking) {
        lookups = BoundedLookups(maxInFlight: maxInFlight, workers: .shared) { key in lookup(key.host, key.port) }
    }

    /// Resolves `host` off the calling thread; `completion` runs on a resolver thread.
    package func resolve(host: String, port: UInt16, completion: @escaping Completion) {
        lookups.lookUp(Key(host: host, port: port), completion: completion)
    }

    /// Lookups running now, and the most that ever ran at once.
    package var counts: (inFlight: Int, peak: Int) { lookups.counts }
}
