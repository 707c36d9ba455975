import Synchronization

/// Derived SCRAM keys kept between conversations, so that a pool opening N connections with one
/// credential runs PBKDF2 (thousands of HMACs, the slow part of SCRAM) once, not N times. The
/// auth spec requires such a cache ("Caching credentials in SCRAM").
///
/// Entries are identified by mechanism, prepared password, salt and iteration count, and hold
/// ClientKey and ServerKey. The password is part of the identity, so a changed password derives
/// again, and so does a server that re-salted the user; it is held as prepared (for SCRAM-SHA-1
/// the digest, for SCRAM-SHA-256 the SASLprep'd text), in memory only, as the client itself holds
/// it for as long as it may open connections. A hash of it would add nothing: whoever can read
/// this memory can read the client's credential too.
///
/// Thread-safe: one `Mutex` guards the entries, and a missing entry is derived while it is held,
/// so connections that start together still derive once. That serializes derivations of
/// different credentials, which is harmless: a pool has one.
public final class ScramKeyCache: Sendable {
    /// What identifies an entry.
    private struct Key: Equatable {
        let mechanism: ScramMechanism
        let preparedPassword: [UInt8]
        let salt: [UInt8]
        let iterations: Int
    }

    /// How many entries before the cache empties itself: a client has a credential or two, so
    /// only changing passwords or salts fill it, and old entries are then dead weight.
    public static let capacity = 16

    /// At most `capacity` entries, searched in order. Not a dictionary: every pool makes a
    /// cache, and the first `[Key: ScramKeys]` of a process makes the Swift runtime scan every
    /// protocol conformance for Key's Hashable (about 0.1 ms of `ClientPool(uri:)`, issue 17).
    private let entries = Mutex<[(key: Key, keys: ScramKeys)]>([])
    private let derivation: @Sendable (ScramMechanism, [UInt8], [UInt8], Int) -> ScramKeys

    /// A cache deriving with `ScramKeys.derive`.
    public convenience init() {
        self.init { ScramKeys.derive(mechanism: $0, preparedPassword: $1, salt: $2, iterations: $3) }
    }

    /// A cache with its own derivation, called with (mechanism, prepared password, salt,
    /// iterations) on every miss: for tests that count derivations.
    public init(derivation: @escaping @Sendable (ScramMechanism, [UInt8], [UInt8], Int) -> ScramKeys) {
        self.derivation = derivation
    }

    /// The keys for these parameters, derived on the first call and remembered.
    public func keys(mechanism: ScramMechanism, preparedPassword: [UInt8], salt: [UInt8], iterations: Int) -> ScramKeys {
        let key = Key(mechanism: mechanism, preparedPassword: preparedPassword, salt: salt, iterations: iterations)
        return entries.withLock { entries in
            if let entry = entries.first(where: { $0.key == key }) { return entry.keys }
            let keys = derivation(mechanism, preparedPassword, salt, iterations)
            if entries.count >= Self.capacity { entries.removeAll() }
            entries.append((key, keys))
            return keys
        }
    }

    /// How many entries the cache holds.
    public var count: Int { entries.withLock { $0.count } }

    /// Forgets every entry (say, when the application replaces its credential).
    public func removeAll() { entries.withLock { $0.removeAll() } }
}
