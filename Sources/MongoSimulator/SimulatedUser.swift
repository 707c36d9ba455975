import MongoAuth

/// A user the simulated deployment knows: a SCRAM user with a password, or an X.509 user named
/// by its certificate's subject. Giving any user makes the deployment require authentication
/// for every command but the handshake, `ping` and the SASL commands (as a mongod with
/// `--auth` does).
public struct SimulatedUser: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// SCRAM with these mechanisms (MongoDB's default for a new user: both).
        case scram(password: String, mechanisms: [ScramMechanism])
        /// MONGODB-X509: the user is the client certificate's subject (RFC 2253), on
        /// `$external`.
        case x509
    }

    public var name: String
    public var database: String
    public var kind: Kind

    public static func scram(
        _ name: String, password: String, database: String = "admin", mechanisms: [ScramMechanism] = [.sha256, .sha1]
    ) -> SimulatedUser {
        SimulatedUser(name: name, database: database, kind: .scram(password: password, mechanisms: mechanisms))
    }

    public static func x509(subject: String) -> SimulatedUser {
        SimulatedUser(name: subject, database: "$external", kind: .x509)
    }
}
