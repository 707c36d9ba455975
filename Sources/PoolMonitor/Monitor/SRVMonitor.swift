import SDAMCore

/// What a pool makes of a `mongodb+srv://` topology's records: the topology's settings with
/// the seeds and the TXT options (the pool also completes its own settings here), or why they
/// cannot be used.
package typealias SeedlistAcceptor = @Sendable (ResolvedSeedlist) throws(SeedlistError) -> TopologySettings

/// Reads a `mongodb+srv://` topology's records and keeps reading them (SRV polling): timers on
/// the loop, lookups off it on the record resolver, results posted back through the loop's
/// inbox and applied to the topology as one transition each.
///
/// - Initial discovery: SRV and TXT records, validated by `SRVSeedlist.resolve`. A failed
///   lookup is remembered by the topology (selection names it when it times out) and retried
///   after heartbeatFrequencyMS; records the spec refuses fail waiting operations at once, and
///   are looked up again at the same rhythm in case they are fixed.
/// - Rescans, while the topology is Sharded or Unknown: the lowest TTL after the end of the
///   last lookup, but at least rescanSRVIntervalMS's floor (60 s); heartbeatFrequencyMS after a
///   lookup that failed or found no valid host. Refused targets are skipped, not errors.
///
/// Loop-confined, owned by `MonitorCore`.
final class SRVMonitor {
    private let loop: MonitorLoop
    private unowned let context: MonitorCore
    private let seedlist: SRVSeedlist
    private let records: RecordResolver
    private let accept: SeedlistAcceptor
    /// Chooses hosts within srvMaxHosts. Seeded from the system; not
    /// SystemRandomNumberGenerator, whose inout use crashes ThreadSanitizer's instrumentation.
    private var generator = SplitMix64(seed: UInt64.random(in: .min ... .max))
    private lazy var timer = TimerWatcher(loop: loop) { [unowned self] in self.timerFired() }
    private var lookupInFlight = false
    private var discovered = false
    private var stopped = false

    init(loop: MonitorLoop, context: MonitorCore, seedlist: SRVSeedlist, records: RecordResolver, accept: @escaping SeedlistAcceptor) {
        loop.preconditionInLoop()
        self.loop = loop
        self.context = context
        self.seedlist = seedlist
        self.records = records
        self.accept = accept
    }

    func start() {
        lookUp()
    }

    /// The pool is closing: no more lookups; one in flight is dropped when it comes back.
    func stop() {
        stopped = true
        timer.stop()
    }

    // MARK: - Lookups

    private func lookUp() {
        guard !stopped, !lookupInFlight else { return }
        lookupInFlight = true
        let rescan = discovered
        let query = RecordResolver.Query(srvName: seedlist.srvName, txtName: rescan ? nil : seedlist.txtName)
        context.publish(.srv(.lookupStarted(name: seedlist.srvName, rescan: rescan)))
        let startedNS = MonotonicClock.nanoseconds()
        let core = context.handle()
        records.lookUp(query) { outcome in
            core.loop.execute {
                core.value.srvMonitor?.finished(outcome, rescan: rescan, startedNS: startedNS)
            }
        }
    }

    private func finished(_ outcome: RecordResolver.Outcome, rescan: Bool, startedNS: UInt64) {
        lookupInFlight = false
        guard !stopped else { return }
        let durationMS = Double(MonotonicClock.nanoseconds() &- startedNS) / 1e6
        if rescan {
            rescanned(outcome, durationMS: durationMS)
        } else {
            discover(outcome, durationMS: durationMS)
        }
    }

    private func discover(_ outcome: RecordResolver.Outcome, durationMS: Double) {
        let topology = context.topology
        let answer: RecordResolver.Answer
        let resolved: ResolvedSeedlist
        let settings: TopologySettings
        do throws(SeedlistError) {
            answer = try outcome.mapError(SeedlistError.lookupFailed).get()
            resolved = try seedlist.resolve(srv: answer.srv, txt: answer.txt, using: &generator)
            settings = try accept(resolved)
        } catch {
            topology.seedlistFailed(error)
            failed(error.description, rescan: false, durationMS: durationMS)
            return
        }
        discovered = true
        // The lookup's line comes before the seeds' ServerOpening events it causes. Whether
        // the topology is rescanned depends on its type with the seeds (a TXT replicaSet
        // makes it a replica set), so it is judged on the settings the seeds come with.
        let next = rescanInterval(type: settings.initialTopologyType, foundValidHosts: true, lowestTTL: resolved.lowestTTL)
        context.publish(.srv(.lookupSucceeded(SRVLookupSummary(
            name: seedlist.srvName, rescan: false, durationMS: durationMS, records: answer.srv, txt: answer.txt.first?.text,
            added: resolved.seeds, nextRescanMS: next.map(\.inMilliseconds)))))
        context.perform(topology.seedlistDiscovered(settings))
        if let next { timer.start(after: Self.seconds(next)) }
    }

    private func rescanned(_ outcome: RecordResolver.Outcome, durationMS: Double) {
        let answer: RecordResolver.Answer
        switch outcome {
        case .success(let records): answer = records
        case .failure(let error):
            failed(error.description, rescan: true, durationMS: durationMS)
            return
        }
        let (valid, refused) = seedlist.hosts(in: answer.srv)
        let refusals = refused.map(\.1)
        guard !valid.isEmpty else {
            let why = "no valid host among \(answer.srv.count) record\(answer.srv.count == 1 ? "" : "s")"
                + (refusals.isEmpty ? "" : ": " + refusals.joined(separator: "; "))
            failed(why + " (the topology is left as it is)", rescan: true, durationMS: durationMS)
            return
        }
        let (actions, changes) = context.topology.srvRescanned(validHosts: valid, using: &generator)
        context.perform(actions)
        let next = rescanInterval(foundValidHosts: true, lowestTTL: answer.srv.compactMap(\.ttl).min())
        context.publish(.srv(.lookupSucceeded(SRVLookupSummary(
            name: seedlist.srvName, rescan: true, durationMS: durationMS, records: answer.srv,
            added: changes.added, removed: changes.removed, refused: refusals, nextRescanMS: next.map(\.inMilliseconds)))))
        if let next { timer.start(after: Self.seconds(next)) }
    }

    /// A lookup that brought nothing usable: the next one after heartbeatFrequencyMS (polling
    /// spec; and the initial lookup's retry).
    private func failed(_ error: String, rescan: Bool, durationMS: Double) {
        let next: Duration? = rescan ? rescanInterval(foundValidHosts: false, lowestTTL: nil) : context.settings.heartbeatFrequency
        context.publish(.srv(.lookupFailed(name: seedlist.srvName, rescan: rescan, durationMS: durationMS, error: error,
                                           nextLookupMS: next.map(\.inMilliseconds))))
        if let next { timer.start(after: Self.seconds(next)) }
    }

    /// When the next rescan is due; nil when the topology (of `type`, by default its type now)
    /// is not one that is rescanned.
    private func rescanInterval(type: TopologyType? = nil, foundValidHosts: Bool, lowestTTL: UInt32?) -> Duration? {
        let settings = context.settings
        guard SRVPolling.rescans(type ?? context.topology.description.type) else { return nil }
        return SRVPolling.interval(foundValidHosts: foundValidHosts, lowestTTL: lowestTTL, heartbeat: settings.heartbeatFrequency,
                                   floor: seedlist.minimumRescanInterval)
    }

    private func timerFired() {
        // A topology that became a replica set (or a single server) is never rescanned again:
        // SDAM never turns it back into Sharded or Unknown.
        guard !discovered || SRVPolling.rescans(context.topology.description.type) else { return }
        lookUp()
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
