import Logging
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// A pool's settings and what secures its connections, read by its clients and its per-server
/// pools. Fixed for a `mongodb://` pool. A `mongodb+srv://` pool's are completed once, when
/// DNS gives the seeds and the TXT options (`replicaSet`, `loadBalanced`, and `authSource` for
/// the credential): before then the topology has no server, so no connection exists that
/// could have used the incomplete ones.
final class PoolConfiguration: Sendable {
    private struct Current {
        var settings: ClientSettings
        var security: ConnectionSecurity
        var seedlist: ResolvedSeedlist?
    }

    private let current: ConditionLock<Current>

    init(settings: ClientSettings, security: ConnectionSecurity) {
        current = ConditionLock(Current(settings: settings, security: security))
    }

    var settings: ClientSettings { current.withLock { $0.settings } }
    var security: ConnectionSecurity { current.withLock { $0.security } }
    /// What DNS gave a `mongodb+srv://` pool (its effective connection string included); nil
    /// before, and for other pools.
    var seedlist: ResolvedSeedlist? { current.withLock { $0.seedlist } }

    /// Completes the settings with a `mongodb+srv://` pool's records (on the loop thread, just
    /// before the topology takes them) and returns the topology's part. Warnings about the
    /// TXT record's options are logged as the URI's are at creation.
    /// - Throws: `SeedlistError.unusable` when the completed settings break a rule (an
    ///   authSource the mechanism refuses, a forbidden topology).
    func accept(_ seedlist: ResolvedSeedlist, logger: Logger) throws(SeedlistError) -> TopologySettings {
        let resolved: ClientSettings
        let name = settings.topology.srv?.srvName ?? "the SRV name"
        do {
            resolved = try settings.resolved(by: seedlist)
        } catch {
            throw .unusable(name: name, reason: error.description)
        }
        let original = settings.topology.srv?.connectionString.warnings ?? []
        for warning in seedlist.connectionString.warnings where !original.contains(warning) {
            logger.warning("TXT record option ignored", metadata: ["mongo.warning": "\(warning)"])
        }
        current.withLock { c in
            c.settings = resolved
            c.seedlist = seedlist
            c.security = c.security.with(credential: resolved.credential)
        }
        return resolved.topology
    }
}
