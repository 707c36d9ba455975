import SDAMCore
import MongoTLS

/// What secures a pool's connections, made once when the pool is created and shared by every
/// connection: the TLS context (one `SSL_CTX` per pool: the CA store and the client
/// certificate are loaded once).
///
/// Monitoring and RTT connections use the TLS context only; application connections use it
/// and, when credentials are given, authenticate.
package struct ConnectionSecurity: Sendable {
    /// Nil: plaintext.
    package let tls: TLSContext?

    package static let plaintext = ConnectionSecurity(tls: nil)

    package init(tls: TLSContext?) {
        self.tls = tls
    }

    /// Loads the TLS configuration the settings ask for (local files only: no I/O on the
    /// network).
    /// - Throws: `ClientPoolError.unsupportedConfiguration` naming the file and OpenSSL's
    ///   reason (never a key's password).
    init(settings: ClientSettings) throws(ClientPoolError) {
        do {
            self.init(tls: try TLSContext.client(for: settings.tls))
        } catch {
            throw .unsupportedConfiguration(error.description)
        }
    }
}
