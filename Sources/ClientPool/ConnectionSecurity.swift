import SDAMCore
import MongoTLS
import MongoAuth
@_spi(LoopPrimitives) import PoolMonitor

/// What secures a pool's connections, made once when the pool is created and shared by every
/// connection: the TLS context (one `SSL_CTX` per pool: the CA store and the client
/// certificate are loaded once), and the credential with its cache of derived SCRAM keys (so
/// N connections run PBKDF2 once).
///
/// Monitoring and RTT connections use the TLS context only; application connections use it
/// and, when credentials are given, authenticate.
package struct ConnectionSecurity: Sendable {
    /// Nil: plaintext.
    package let tls: TLSContext?
    /// Nil: no authentication.
    let credential: MongoCredential?
    let keyCache: ScramKeyCache

    package static let plaintext = ConnectionSecurity(tls: nil)

    package init(tls: TLSContext?, credential: MongoCredential? = nil, keyCache: ScramKeyCache = ScramKeyCache()) {
        self.tls = tls
        self.credential = credential
        self.keyCache = keyCache
    }

    /// The same TLS context and key cache with another credential (a `mongodb+srv://` pool's
    /// once its TXT record gave the authSource).
    func with(credential: MongoCredential?) -> ConnectionSecurity {
        ConnectionSecurity(tls: tls, credential: credential, keyCache: keyCache)
    }

    /// The authentication of one connection to `server`, or nil without credentials.
    func authentication(for server: ServerAddress) -> ConnectionAuthentication? {
        credential.map { ConnectionAuthentication(credential: $0, keyCache: keyCache, server: server) }
    }

    /// Loads the TLS configuration the settings ask for (local files only: no I/O on the
    /// network).
    /// - Throws: `ClientPoolError.unsupportedConfiguration` naming the file and OpenSSL's
    ///   reason (never a key's password).
    init(settings: ClientSettings, keyCache: ScramKeyCache = ScramKeyCache()) throws(ClientPoolError) {
        do {
            self.init(tls: try TLSContext.client(for: settings.tls), credential: settings.credential, keyCache: keyCache)
        } catch {
            throw .unsupportedConfiguration(error.description)
        }
    }
}
