import SDAMCore
import MongoTLS

extension TLSConfiguration {
    /// The client side of the connection string's TLS options (`ClientSettings.tls`).
    /// `tlsDisableCertificateRevocationCheck` turns off the stapled OCSP check
    /// (`checkRevocation`); `tlsDisableOCSPEndpointCheck` has nothing to turn off, as no OCSP
    /// responder is ever contacted (OptionSupport warns when it is given).
    public init(client settings: TLSSettings) {
        self.init(
            caFile: settings.caFile,
            certificateKeyFile: settings.certificateKeyFile,
            certificateKeyFilePassword: settings.certificateKeyFilePassword,
            allowInvalidCertificates: settings.allowInvalidCertificates,
            allowInvalidHostnames: settings.allowInvalidHostnames,
            checkRevocation: !settings.disableCertificateRevocationCheck
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
