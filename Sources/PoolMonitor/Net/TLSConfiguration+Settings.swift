import SDAMCore
import MongoTLS

extension TLSConfiguration {
    /// The client side of the connection string's TLS options (`ClientSettings.tls`).
    /// Revocation options have nothing to turn off: no revocation check is made (OptionSupport
    /// warns when they are given).
    public init(client settings: TLSSettings) {
        self.init(
            caFile: settings.caFile,
            certificateKeyFile: settings.certificateKeyFile,
            certificateKeyFilePassword: settings.certificateKeyFilePassword,
            allowInvalidCertificates: settings.allowInvalidCertificates,
            allowInvalidHostnames: settings.allowInvalidHostnames
        )
    }
}

extension TLSContext {
    /// The client context for `settings`, or nil for plaintext (`settings` nil).
    /// - Throws: `TLSError` of kind `configuration` naming the file that could not be used.
    public static func client(for settings: TLSSettings?) throws(TLSError) -> TLSContext? {
        guard let settings else { return nil }
        return try TLSContext(role: .client, configuration: TLSConfiguration(client: settings))
    }
}
