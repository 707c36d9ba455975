import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// Everything a `ClientPool` or a `MongoClient` can throw, as one typed error.
///
/// Every description says what was expected, what happened instead and, where a server was
/// involved, which server — so that it can go straight into a log line or an exception message.
public enum ClientPoolError: Error, Sendable, CustomStringConvertible {
    /// The connection string is malformed; the parser's error names the offending part.
    case invalidConnectionString(ConnectionStringError)
    /// The connection string is well formed but asks for something this driver cannot do
    /// (UNIX domain sockets) or a topology the SDAM spec forbids.
    case unsupportedConfiguration(String)
    /// A `mongodb+srv://` pool's SRV or TXT records break the initial seedlist discovery
    /// spec's rules (a target outside the parent domain, two TXT records, a TXT option not
    /// allowed, srvMaxHosts with a TXT replicaSet, ...): operations fail with this at once,
    /// not after serverSelectionTimeoutMS, until the records are fixed.
    case invalidSeedlist(SeedlistError)
    /// The monitor could not be started (no thread, no event loop).
    case monitorStartFailed(String)
    /// `close()` was called: waiting poppers and selections fail with this, and so does every
    /// later operation.
    case poolClosed
    /// A `SingleThreadedClient` was closed: every later operation fails with this.
    case clientClosed
    /// `pop()` waited waitQueueTimeoutMS and no client became free.
    case waitQueueTimeout(waitQueueTimeoutMS: Int, maxPoolSize: Int)
    /// Server selection refused at once: an invalid read preference or an incompatible
    /// topology, which no amount of waiting can cure.
    case selectionRefused(ServerSelectionError)
    /// No suitable server appeared within serverSelectionTimeoutMS, or (a single-threaded
    /// client with serverSelectionTryOnce) after one scan (`ServerSelectionTimeout.triedOnce`).
    case serverSelectionTimeout(ServerSelectionTimeout)
    /// A network error or timeout on a connection to a server (while connecting, during the
    /// handshake, or during a command). The connection was closed.
    case network(NetworkFailure)
    /// The command cannot be sent as given (e.g. it does not encode, or exceeds the server's
    /// maxMessageSizeBytes). Nothing was sent.
    case invalidCommand(server: ServerAddress, reason: String)
    /// The server answered with bytes that are not a usable reply. The connection was closed.
    case invalidReply(server: ServerAddress, reason: String)
    /// The server answered the command with `ok: 0`.
    case commandFailed(CommandFailed)
    /// The server's connection pool was cleared (its server became Unknown) before or while
    /// the operation used it: CMAP's PoolClearedError, retryable, and no reason to mark the
    /// server Unknown again.
    case connectionPoolCleared(PoolClearedFailure)
    /// TLS refused the server or failed: a certificate that did not verify, a host name it does
    /// not cover, a server that does not speak TLS. The server is Unknown and its pool cleared;
    /// the operation did not run (nothing is ever sent in plaintext when TLS was asked for).
    case tlsFailed(TLSFailure)
    /// The server refused the credential, or the conversation failed (a server that does not
    /// know the password, an iteration count below 4096). The server is Unknown to this pool and
    /// its connection pool cleared; the operation did not run.
    case authenticationFailed(AuthenticationFailure)

    public var description: String {
        switch self {
        case .invalidConnectionString(let error):
            "invalid connection string: \(error)"
        case .unsupportedConfiguration(let reason):
            "unsupported configuration: \(reason)"
        case .invalidSeedlist(let error):
            "mongodb+srv: no seed list: \(error)"
        case .monitorStartFailed(let reason):
            "the client pool could not start its monitor: \(reason)"
        case .poolClosed:
            "the client pool was closed"
        case .clientClosed:
            "the single-threaded client was closed"
        case .waitQueueTimeout(let timeout, let maxPoolSize):
            "timed out after waitQueueTimeoutMS \(timeout) waiting for a free client: all \(maxPoolSize) clients "
                + "(maxPoolSize) are in use; push clients back when done or raise maxPoolSize"
        case .selectionRefused(let error):
            "\(error)"
        case .serverSelectionTimeout(let timeout):
            timeout.description
        case .network(let failure):
            failure.description
        case .invalidCommand(let server, let reason):
            "command not sent to \(server): \(reason)"
        case .invalidReply(let server, let reason):
            "invalid reply from \(server): \(reason); the connection was closed"
        case .commandFailed(let failure):
            failure.description
        case .connectionPoolCleared(let failure):
            failure.description
        case .tlsFailed(let failure):
            failure.description
        case .authenticationFailed(let failure):
            failure.description
        }
    }

    /// The error labels the driver attaches (the server's `errorLabels` of a failed command,
    /// and the backpressure labels of a failed connection attempt).
    public var errorLabels: [String] {
        switch self {
        case .network(let failure): failure.errorLabels
        case .commandFailed(let failure): failure.errorLabels
        case .connectionPoolCleared(let failure): failure.errorLabels
        default: []
        }
    }

    /// The `baseBackoffMS` a failed command's reply named, for the overload retry's backoff.
    public var baseBackoffMS: Int? {
        guard case .commandFailed(let failure) = self else { return nil }
        return failure.reply["baseBackoffMS"]?.int64Value.flatMap { Int(exactly: $0) }
    }

    /// The server the error happened on, when there was one.
    public var server: ServerAddress? {
        switch self {
        case .network(let failure): failure.server
        case .invalidReply(let server, _), .invalidCommand(let server, _): server
        case .commandFailed(let failure): failure.server
        case .connectionPoolCleared(let failure): failure.server
        case .tlsFailed(let failure): failure.server
        case .authenticationFailed(let failure): failure.server
        default: nil
        }
    }
}

/// An authentication that failed: who, how, where, and why — never the password.
public struct AuthenticationFailure: Sendable, Equatable, CustomStringConvertible {
    public var server: ServerAddress
    /// Nil for MONGODB-X509 without a user name (the certificate's subject is the user).
    public var username: String?
    /// "SCRAM-SHA-256", "SCRAM-SHA-1" or "MONGODB-X509".
    public var mechanism: String
    /// The authentication database (the credential's source).
    public var database: String
    /// The server's message or the conversation's reason.
    public var reason: String
    /// The server's error code (18, AuthenticationFailed, for a wrong password), when it sent one.
    public var code: Int?

    public var description: String {
        let user = username.map { " of user \"\($0)\"" } ?? ""
        let codeText = code.map { " (code \($0))" } ?? ""
        return "\(mechanism) authentication\(user) on database \"\(database)\" at \(server) failed\(codeText): \(reason)"
    }
}

/// A TLS failure with a server: which server, what kind, and OpenSSL's reason.
public struct TLSFailure: Sendable, CustomStringConvertible {
    public var server: ServerAddress
    public var kind: TLSError.Kind
    /// What was being done and OpenSSL's words (it names the server too).
    public var reason: String

    public var description: String { "TLS with \(server) failed: \(reason)" }
}

/// Server selection gave up: which operation, the topology type, why nothing would do, and
/// every server with its type, round-trip time and last error ("Server Selection Errors" in
/// the server-selection specification).
public struct ServerSelectionTimeout: Sendable, CustomStringConvertible {
    /// One server as selection last saw it.
    public struct Server: Sendable, Equatable {
        public var address: ServerAddress
        public var type: ServerType
        public var roundTripTimeMS: Double?
        public var error: String?
    }

    public var operation: ServerSelectionOperation
    public var timeoutMS: Int
    public var topologyType: TopologyType
    /// The selector's explanation (`ServerSelector.noSuitableServerError`).
    public var reason: String
    /// Sorted by address.
    public var servers: [Server]
    /// For a `mongodb+srv://` pool whose records were never read: why the last lookup failed
    /// ("SRV lookup of _mongodb._tcp.cluster0.example.net failed: NXDOMAIN").
    public var seedlistFailure: String?
    /// A single-threaded client with serverSelectionTryOnce=true gave up after one scan (the
    /// timeout did not apply).
    public var triedOnce = false

    public init(
        operation: ServerSelectionOperation,
        timeoutMS: Int,
        topology: TopologyDescription,
        reason: String,
        seedlistFailure: String? = nil
    ) {
        self.seedlistFailure = seedlistFailure
        self.operation = operation
        self.timeoutMS = timeoutMS
        topologyType = topology.type
        self.reason = reason
        servers = topology.sortedServers.map {
            Server(address: $0.address, type: $0.type, roundTripTimeMS: $0.roundTripTimeMS, error: $0.error)
        }
    }

    /// "server selection for write timed out after 30000 ms (topology type ReplicaSetNoPrimary):
    /// …; servers: a:27017 RSSecondary, RTT 1.2 ms; b:27017 Unknown, RTT none, last error: …"
    public var description: String {
        let listing = servers.isEmpty ? "none known" : servers.map { server in
            let rtt = server.roundTripTimeMS.map { "RTT \(formatMS($0)) ms" } ?? "RTT none"
            let error = server.error.map { ", last error: \($0)" } ?? ""
            return "\(server.address) \(server.type.rawValue), \(rtt)\(error)"
        }.joined(separator: "; ")
        let what = triedOnce
            ? "found no suitable server after one scan (serverSelectionTryOnce=true; with serverSelectionTryOnce=false it would "
                + "scan every 500 ms for up to serverSelectionTimeoutMS \(timeoutMS))"
            : "timed out after serverSelectionTimeoutMS \(timeoutMS)"
        let seeds = seedlistFailure.map { "; the seed list is not known yet: \($0)" } ?? ""
        return "server selection for \(operation) \(what) "
            + "(topology type \(topologyType.rawValue)): \(reason); servers: \(listing)\(seeds)"
    }
}

/// A network error or timeout on one connection.
public struct NetworkFailure: Sendable, CustomStringConvertible {
    public var server: ServerAddress
    /// Whether the connection was still being established (TCP connect or handshake).
    public var duringHandshake: Bool
    public var timedOut: Bool
    /// What the connection was doing ("connecting", "sending the command 'ping'", …) and the
    /// system's words for what went wrong.
    public var reason: String
    /// e.g. the backpressure labels `SystemOverloadedError`, `RetryableError` for a failed
    /// connection attempt.
    public var errorLabels: [String]

    public var description: String {
        let what = timedOut ? "network timeout" : "network error"
        let phase = duringHandshake ? "establishing a connection to" : "on the connection to"
        let labels = errorLabels.isEmpty ? "" : " [error labels: \(errorLabels.joined(separator: ", "))]"
        return "\(what) \(phase) \(server): \(reason); the connection was closed\(labels)"
    }
}

/// CMAP's PoolClearedError: the server's pool was paused or cleared, or the connection in use
/// was interrupted because the server's monitor check timed out.
public struct PoolClearedFailure: Sendable, CustomStringConvertible {
    public var server: ServerAddress
    /// The connection in use was interrupted (a clear with interruptInUseConnections after a
    /// monitor's check timed out), rather than a check-out refused by a paused pool.
    public var interrupted: Bool
    /// What cleared the pool, when known (the failed check's or operation's error).
    public var cause: String?
    /// `RetryableWriteError`: the operation may be retried on the server selected next.
    public var errorLabels: [String] = ["RetryableWriteError"]

    public init(server: ServerAddress, interrupted: Bool, cause: String?) {
        self.server = server
        self.interrupted = interrupted
        self.cause = cause
    }

    public var description: String {
        let labels = " [error labels: \(errorLabels.joined(separator: ", "))]"
        if interrupted {
            return "Connection to \(server) interrupted due to server monitor timeout"
                + (cause.map { " (\($0))" } ?? "") + labels
        }
        return "Connection pool for \(server) was cleared because another operation failed with: "
            + (cause ?? "an error that made the server Unknown") + labels
    }
}

/// A command the server answered with `ok: 0`.
public struct CommandFailed: Sendable, CustomStringConvertible {
    public var server: ServerAddress
    /// The command's name (its first key).
    public var commandName: String
    public var code: Int?
    public var codeName: String?
    public var errmsg: String
    /// The reply's `errorLabels`, plus any the driver added.
    public var errorLabels: [String]
    /// The whole reply, for fields this type does not lift out.
    public var reply: BSONDocument

    /// Reads a failed reply.
    public init(server: ServerAddress, commandName: String, reply: BSONDocument) {
        self.server = server
        self.commandName = commandName
        self.reply = reply
        code = reply["code"]?.int64Value.flatMap { Int(exactly: $0) }
        codeName = reply["codeName"]?.stringValue
        errmsg = reply["errmsg"]?.stringValue ?? "(no errmsg)"
        errorLabels = reply["errorLabels"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    public var description: String {
        let codeText = code.map { " \($0)" } ?? ""
        let name = codeName.map { " (\($0))" } ?? ""
        let labels = errorLabels.isEmpty ? "" : " [error labels: \(errorLabels.joined(separator: ", "))]"
        return "command '\(commandName)' failed on \(server): expected ok: 1, got error\(codeText)\(name): \(errmsg)\(labels)"
    }
}

/// Milliseconds with at most one decimal, for messages.
func formatMS(_ value: Double) -> String {
    let tenths = (value * 10).rounded() / 10
    return tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
}
