import MongoWire

/// The handshake a monitoring connection sends when it does not authenticate (every pooled
/// one), encoded once: only its requestID differs between connections.
///
/// Shared between threads so that `TopologyMonitor.init` can encode it on the caller's thread
/// while the loop thread starts and connects, rather than the loop encoding it between the
/// seed's connect and its handshake (about 0.05 ms in a process's first pool, issue 17).
/// Whoever needs it first encodes it, outside the lock; the encoding depends on `loadBalanced`,
/// which DNS can still change for a `mongodb+srv://` topology, so bytes encoded for the other
/// value are encoded again.
final class PlainHandshake: Sendable {
    private struct Encoded {
        let loadBalanced: Bool
        let bytes: [UInt8]?
    }

    private let appName: String?
    private let encoded = ConditionLock<Encoded?>(nil)

    init(appName: String?) {
        self.appName = appName
    }

    /// The handshake's bytes (requestID 0) for `loadBalanced`; nil if it cannot be encoded.
    func bytes(loadBalanced: Bool) -> [UInt8]? {
        if let done = encoded.withLock({ $0 }), done.loadBalanced == loadBalanced { return done.bytes }
        let bytes = try? Handshake.handshakeMessage(requestID: 0, appName: appName, loadBalanced: loadBalanced).encoded()
        encoded.withLock { $0 = Encoded(loadBalanced: loadBalanced, bytes: bytes) }
        return bytes
    }
}
