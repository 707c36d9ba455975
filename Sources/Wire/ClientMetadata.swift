import MongoBSON
import SDAMCore

/// The handshake's `client` document (handshake spec): application name, driver, OS, platform
/// and execution environment, encoded within the server's 512-byte limit.
///
/// A value, built by the caller: this module reads no file and no environment variable (it is
/// pure), so what only the operating system knows — the distribution's name, the kernel's
/// version, FaaS variables, `/.dockerenv` — comes in as `os` and `environment`
/// (PoolMonitor's `HostEnvironment` reads them once per process).
public struct ClientMetadata: Sendable, Equatable {
    /// `client.os`. Only `type` is required; the others are omitted when nil.
    public struct OperatingSystem: Sendable, Equatable {
        /// `uname -s`: "Linux"; "unknown" when it cannot be told (the spec's default).
        public var type: String
        /// The distribution's name, e.g. os-release's PRETTY_NAME.
        public var name: String?
        /// `uname -m`: "x86_64", "aarch64".
        public var architecture: String?
        /// The operating system's version (on Linux the kernel release, `uname -r`).
        public var version: String?

        public init(type: String, name: String? = nil, architecture: String? = nil, version: String? = nil) {
            self.type = type
            self.name = name
            self.architecture = architecture
            self.version = version
        }

        /// What the compiler knows without asking the system: the OS family and the CPU.
        public static let compiledFor: OperatingSystem = {
            #if os(Linux)
            let type = "Linux"
            #elseif os(macOS) || os(iOS)
            let type = "Darwin"
            #else
            let type = "unknown"
            #endif
            #if arch(x86_64)
            let architecture: String? = "x86_64"
            #elseif arch(arm64)
            let architecture: String? = "aarch64"
            #else
            let architecture: String? = nil
            #endif
            return OperatingSystem(type: type, architecture: architecture)
        }()
    }

    /// `client.env`: the FaaS platform and the container the process runs in, if any.
    public struct Environment: Sendable, Equatable {
        /// "aws.lambda", "azure.func", "gcp.func" or "vercel".
        public var name: String?
        public var timeoutSec: Int32?
        public var memoryMB: Int32?
        public var region: String?
        /// "docker" when `/.dockerenv` exists.
        public var containerRuntime: String?
        /// "kubernetes" when `KUBERNETES_SERVICE_HOST` is set.
        public var containerOrchestrator: String?

        public init(
            name: String? = nil, timeoutSec: Int32? = nil, memoryMB: Int32? = nil, region: String? = nil,
            containerRuntime: String? = nil, containerOrchestrator: String? = nil
        ) {
            self.name = name
            self.timeoutSec = timeoutSec
            self.memoryMB = memoryMB
            self.region = region
            self.containerRuntime = containerRuntime
            self.containerOrchestrator = containerOrchestrator
        }

        /// Whether no field is set: `client.env` is then omitted entirely.
        public var isEmpty: Bool { self == Environment() }
    }

    /// `client.application.name`: the connection string's `appname`; never defaulted.
    public var applicationName: String?
    public var driverName: String
    public var driverVersion: String
    public var os: OperatingSystem
    /// Driver-specific platform details, most important first (the end is cut to fit).
    public var platform: String?
    public var environment: Environment?

    public init(
        applicationName: String? = nil,
        driverName: String = DriverIdentity.name,
        driverVersion: String = DriverIdentity.version,
        os: OperatingSystem = .compiledFor,
        platform: String? = ClientMetadata.defaultPlatform,
        environment: Environment? = nil
    ) {
        self.applicationName = applicationName
        self.driverName = driverName
        self.driverVersion = driverVersion
        self.os = os
        self.platform = platform
        self.environment = environment
    }

    /// This driver's `client.platform`.
    public static let defaultPlatform = "Swift 6, libev"
    /// The server refuses a handshake whose `client` document is larger (BSON overhead included).
    public static let maxDocumentBytes = 512

    // MARK: - The document

    /// The `client` document as sent: at most `maxDocumentBytes` encoded.
    ///
    /// When the full document is too large, fields are dropped in the handshake spec's order
    /// until it fits: `env`'s fields but `name`; `os`'s fields but `type`; `env` altogether;
    /// then `platform` is cut (at a character boundary). An application name over the
    /// server's 128-byte limit (the connection string refuses one; `MonitorOptions` built in
    /// code does not) is cut to 128 bytes first, since the server would refuse the handshake
    /// otherwise, whatever else was dropped.
    public var document: BSONDocument {
        var metadata = self
        if let name = metadata.applicationName {
            metadata.applicationName = Self.prefix(of: name, maxBytes: DriverIdentity.maxApplicationNameBytes)
        }
        var document = metadata.untruncatedDocument
        if Self.fits(document) { return document }
        if let env = metadata.environment {
            metadata.environment = env.name.map { Environment(name: $0) }
            document = metadata.untruncatedDocument
            if Self.fits(document) { return document }
        }
        metadata.os = OperatingSystem(type: metadata.os.type)
        document = metadata.untruncatedDocument
        if Self.fits(document) { return document }
        metadata.environment = nil
        document = metadata.untruncatedDocument
        if Self.fits(document) { return document }
        if let platform = metadata.platform {
            // Every byte over the limit comes off the platform's end; a string's BSON size is
            // its UTF-8 length plus a constant, so one cut is enough.
            let excess = document.encoded().count - Self.maxDocumentBytes
            let cut = Self.prefix(of: platform, maxBytes: max(0, platform.utf8.count - excess))
            metadata.platform = cut.isEmpty ? nil : cut
            document = metadata.untruncatedDocument
        }
        return document
    }

    /// Every field that is set, in the spec's order.
    var untruncatedDocument: BSONDocument {
        var client = BSONDocument()
        if let applicationName { client.append("application", .document(["name": .string(applicationName)])) }
        client.append("driver", .document(["name": .string(driverName), "version": .string(driverVersion)]))
        var os: BSONDocument = ["type": .string(self.os.type)]
        if let name = self.os.name { os.append("name", .string(name)) }
        if let architecture = self.os.architecture { os.append("architecture", .string(architecture)) }
        if let version = self.os.version { os.append("version", .string(version)) }
        client.append("os", .document(os))
        if let platform { client.append("platform", .string(platform)) }
        if let environment, !environment.isEmpty { client.append("env", .document(environment.document)) }
        return client
    }

    private static func fits(_ document: BSONDocument) -> Bool {
        document.encoded().count <= maxDocumentBytes
    }

    /// The longest prefix of `text` of at most `maxBytes` bytes of UTF-8 that ends on a
    /// character boundary.
    static func prefix(of text: String, maxBytes: Int) -> String {
        guard text.utf8.count > maxBytes else { return text }
        var result = ""
        var bytes = 0
        for character in text {
            let size = character.utf8.count
            guard bytes + size <= maxBytes else { break }
            result.append(character)
            bytes += size
        }
        return result
    }
}

extension ClientMetadata.Environment {
    var document: BSONDocument {
        var env = BSONDocument()
        if let name { env.append("name", .string(name)) }
        if let timeoutSec { env.append("timeout_sec", .int32(timeoutSec)) }
        if let memoryMB { env.append("memory_mb", .int32(memoryMB)) }
        if let region { env.append("region", .string(region)) }
        var container = BSONDocument()
        if let containerRuntime { container.append("runtime", .string(containerRuntime)) }
        if let containerOrchestrator { container.append("orchestrator", .string(containerOrchestrator)) }
        if !container.isEmpty { env.append("container", .document(container)) }
        return env
    }
}
