import MongoBSON

/// This driver's name and version: sent in every handshake's client metadata and named in the
/// compatibility errors of the topology (which is why it lives in the pure core, not with the
/// handshake documents).
public enum DriverIdentity {
    public static let name = "swift-sdam"
    public static let version = "0.2.0"
    /// The handshake spec's limit on `client.application.name`.
    public static let maxApplicationNameBytes = 128
}
