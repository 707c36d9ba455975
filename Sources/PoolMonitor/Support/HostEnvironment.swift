import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// What the handshake's client metadata says about the machine and the process — the
/// operating system (`uname`, `/etc/os-release`), the FaaS platform and the container
/// (environment variables, `/.dockerenv`) — read once per process, since none of it changes
/// while the process runs. MongoWire builds the `client` document from it but cannot read it
/// itself: it is pure.
public enum HostEnvironment {
    /// The host as read on first use.
    public static let current: (os: ClientMetadata.OperatingSystem, environment: ClientMetadata.Environment?) = (
        operatingSystem(),
        ClientMetadata.Environment(variables: ProcessEnvironment.variables, dockerEnvExists: access("/.dockerenv", F_OK) == 0)
    )

    /// This process's client metadata with `appName`.
    public static func metadata(appName: String?) -> ClientMetadata {
        ClientMetadata(applicationName: appName, os: current.os, environment: current.environment)
    }

    /// `uname` for the type, architecture and version (the kernel release); os-release's
    /// PRETTY_NAME for the name. What cannot be read keeps the compile-time answer, or is left out.
    static func operatingSystem() -> ClientMetadata.OperatingSystem {
        var os = ClientMetadata.OperatingSystem.compiledFor
        var names = utsname()
        if uname(&names) == 0 {
            func field<T>(_ value: inout T) -> String {
                withUnsafeBytes(of: &value) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
            }
            let system = field(&names.sysname), machine = field(&names.machine), release = field(&names.release)
            if !system.isEmpty { os.type = system }
            if !machine.isEmpty { os.architecture = machine }
            if !release.isEmpty { os.version = release }
        }
        // os-release(5): /etc/os-release, else /usr/lib/os-release.
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let text = readSmallFile(path) else { continue }
            os.name = distributionName(osRelease: text)
            break
        }
        return os
    }

    /// PRETTY_NAME of an os-release file, else NAME and VERSION; nil when it has neither.
    static func distributionName(osRelease text: String) -> String? {
        var fields: [String: String] = [:]
        // Lines and keys are found by byte: splitting the text by Character walked grapheme
        // clusters, a tenth of a millisecond of a process's first handshake (issue 17).
        for line in text.utf8.split(separator: UInt8(ascii: "\n")) {
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            guard trimmed.first != UInt8(ascii: "#"), let eq = trimmed.firstIndex(of: UInt8(ascii: "=")) else { continue }
            fields[String(Substring(trimmed[..<eq]))] = unquoted(Substring(trimmed[trimmed.index(after: eq)...]))
        }
        if let pretty = fields["PRETTY_NAME"], !pretty.isEmpty { return pretty }
        guard let name = fields["NAME"], !name.isEmpty else { return nil }
        guard let version = fields["VERSION"], !version.isEmpty else { return name }
        return name + " " + version
    }

    /// A shell-style value as os-release writes it: bare, or in single or double quotes, with
    /// backslash escapes inside double quotes.
    private static func unquoted(_ value: Substring) -> String {
        // By byte: quotes, blanks and backslashes are ASCII, and UTF-8 never uses ASCII bytes
        // inside a multi-byte character.
        var bytes = Array(value.utf8)
        while let last = bytes.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") || last == UInt8(ascii: "\r") {
            bytes.removeLast()
        }
        guard let quote = bytes.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'"), bytes.count >= 2,
              bytes.last == quote else {
            return String(decoding: bytes, as: UTF8.self)
        }
        let inner = bytes[1..<(bytes.count - 1)]
        guard quote == UInt8(ascii: "\"") else { return String(decoding: inner, as: UTF8.self) }
        var result: [UInt8] = []
        result.reserveCapacity(inner.count)
        var escaped = false
        for byte in inner {
            if escaped {
                result.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// The file's text, or nil when it cannot be opened; at most `limit` bytes are read
    /// (os-release is a few hundred bytes; resolv.conf and hosts(5) read it too).
    static func readSmallFile(_ path: String, limit: Int = 64 * 1024) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        // Read in chunks into a buffer that grows with the file: zeroing a buffer of `limit`
        // bytes up front touched 16 fresh pages for a file of a few hundred bytes.
        var bytes: [UInt8] = []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { chunk in
            while bytes.count < limit {
                let count = fread(chunk.baseAddress, 1, min(chunk.count, limit - bytes.count), file)
                guard count > 0 else { break }
                bytes.append(contentsOf: chunk.prefix(count))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Handshake {
    /// The handshake with this process's client metadata (`HostEnvironment`) and `appName`:
    /// what the monitor's and the application's connections send.
    public static func handshakeMessage(
        requestID: Int32, appName: String?, loadBalanced: Bool = false,
        saslSupportedMechs: String? = nil, speculativeAuthenticate: BSONDocument? = nil
    ) -> WireMessage {
        handshakeMessage(requestID: requestID, metadata: HostEnvironment.metadata(appName: appName), loadBalanced: loadBalanced,
                         saslSupportedMechs: saslSupportedMechs, speculativeAuthenticate: speculativeAuthenticate)
    }
}
