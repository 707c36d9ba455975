import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The connection-string and uri-options spec tests (one shared layout): a `tests` array whose
/// entries have a `uri`, with `valid`, `warning`, `hosts`, `auth` and `options` to check. A
/// null expectation asserts nothing, as the suites' READMEs say.
///
/// The auth spec's legacy tests share the layout and add `credential`. In their files (those
/// with a `credential` key) a URI is valid when it parses and its credential can be derived
/// (the auth tests README: "URI parsing (or MongoClient construction)"); the other suites
/// test parsing alone. There a null `credential` means no credential, and a null
/// `mechanism_properties` none (empty).
public struct ConnectionStringFormat: SpecFormat {
    public init() {}

    public var name: String { "connection-string" }

    public func recognizes(_ file: SpecFile) -> Bool {
        guard file.json["schemaVersion"] == nil, file.json["bson_type"] == nil,
              let tests = file.json["tests"]?.arrayValue, let first = tests.first
        else { return false }
        return first["uri"]?.stringValue != nil
    }

    /// Auth tests the auth spec's text has since overruled. Its 2025-09-30 change removed
    /// MONGODB-AWS credentials from the URI ("If credentials are provided in the URI or client
    /// options, the driver MUST raise an error") and added tests that expect the error, but
    /// left these two, which expect the old acceptance; the same file's "should throw an
    /// exception if username and password provided (MONGODB-AWS)" contradicts them.
    static let overruledAuthTests: Set<String> = [
        "should use username and password if specified (MONGODB-AWS)",
        "should use username, password and session token if specified (MONGODB-AWS)",
    ]

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let tests = file.json["tests"]?.arrayValue ?? []
        let checksCredentials = tests.contains { $0["credential"] != nil }
        return tests.enumerated().map { i, test in
            let name = test["description"]?.stringValue ?? "#\(i)"
            if checksCredentials, Self.overruledAuthTests.contains(name) {
                return SpecCaseResult(file: file.path, name: name, outcome: .skipped(
                    "overruled by the auth spec (2025-09-30): MONGODB-AWS credentials in the URI are an error"))
            }
            return SpecCaseResult(file: file.path, name: name, outcome: runCase(test, checksCredentials: checksCredentials))
        }
    }

    func runCase(_ test: JSONValue, checksCredentials: Bool = false) -> SpecOutcome {
        guard let uri = test["uri"]?.stringValue, let valid = test["valid"]?.boolValue else {
            return .failed("test has no string 'uri' or boolean 'valid'")
        }
        let parsed: ConnectionString
        let credential: MongoCredential?
        do {
            parsed = try ConnectionString(uri)
            credential = checksCredentials ? try parsed.credential : nil
        } catch {
            return valid ? .failed("expected a valid URI, got error: \(error)") : .passed
        }
        guard valid else {
            return .failed("expected an error, parsed \(parsed) with warnings \(parsed.warnings)"
                + (credential.map { " and credential \($0)" } ?? ""))
        }
        var problems: [String] = []
        if checksCredentials, let expected = test["credential"] { problems += checkCredential(expected, credential) }
        if let warning = test["warning"]?.boolValue, warning != !parsed.warnings.isEmpty {
            problems.append(warning ? "expected a warning, got none" : "expected no warning, got \(parsed.warnings)")
        }
        if let hosts = test["hosts"]?.arrayValue { problems += checkHosts(hosts, parsed.hosts) }
        if let auth = test["auth"], !auth.isNull { problems += checkAuth(auth, parsed) }
        if let options = test["options"]?.objectValue {
            for (key, expected) in options {
                let actual = Self.optionValue(key, parsed.options)
                if actual.map(Self.normalized) != Self.normalized(expected) {
                    problems.append("option \(key): expected \(Self.show(expected)), got \(actual.map(Self.show) ?? "nothing")")
                }
            }
        }
        return problems.isEmpty ? .passed : .failed(problems.joined(separator: "; "))
    }

    private func checkHosts(_ expected: [JSONValue], _ actual: [HostIdentifier]) -> [String] {
        guard expected.count == actual.count else {
            return ["expected \(expected.count) hosts, got \(actual.count): \(actual)"]
        }
        var problems: [String] = []
        for (want, got) in zip(expected, actual) {
            if let type = want["type"]?.stringValue, type != got.kind.rawValue {
                problems.append("host \(got): expected type \(type), got \(got.kind.rawValue)")
            }
            let host: String
            switch got {
            case .tcp(let address): host = address.host
            case .unixSocket(let path): host = path
            }
            if let wantHost = want["host"]?.stringValue, wantHost != host {
                problems.append("expected host \(wantHost), got \(host)")
            }
            if let wantPort = want["port"]?.intValue, wantPort != got.serverAddress.map({ Int($0.port) }) {
                problems.append("host \(host): expected port \(wantPort), got \(got)")
            }
        }
        return problems
    }

    private func checkAuth(_ auth: JSONValue, _ parsed: ConnectionString) -> [String] {
        let fields: [(String, String?)] = [
            ("username", parsed.username), ("password", parsed.password), ("db", parsed.authDatabase),
        ]
        return fields.compactMap { key, actual in
            guard let expected = auth[key], !expected.isNull else { return nil }
            return expected.stringValue == actual ? nil : "auth \(key): expected \(Self.show(expected)), got \(actual ?? "nothing")"
        }
    }

    /// The auth tests' `credential`: null for none; otherwise each key given (a null value
    /// meaning unset) must match, and `mechanism_properties` is a subset to find.
    private func checkCredential(_ expected: JSONValue, _ actual: MongoCredential?) -> [String] {
        guard !expected.isNull else {
            return actual.map { ["expected no credential, got \($0)"] } ?? []
        }
        guard let actual else { return ["expected a credential \(Self.show(expected)), got none"] }
        var problems: [String] = []
        let fields: [(String, String?)] = [
            ("username", actual.username), ("password", actual.password), ("source", actual.source),
            ("mechanism", actual.mechanism?.rawValue),
        ]
        for (key, value) in fields {
            guard let want = expected[key] else { continue }
            if want.isNull ? value != nil : want.stringValue != value {
                // The password is the test's own; this runner may show it.
                problems.append("credential \(key): expected \(Self.show(want)), got \(value.map { "\"\($0)\"" } ?? "nothing")")
            }
        }
        if let want = expected["mechanism_properties"] {
            let members = want.objectValue ?? []
            if want.isNull, !actual.mechanismProperties.isEmpty {
                problems.append("credential mechanism_properties: expected none, got \(actual.mechanismProperties)")
            }
            for (key, value) in members where actual.mechanismProperties[key] != value.stringValue {
                problems.append("credential mechanism_properties.\(key): expected \(Self.show(value)), got \(actual.mechanismProperties[key] ?? "nothing")")
            }
        }
        return problems
    }

    // MARK: - Options as the tests write them

    /// The parsed value of option `key` (any case) in the tests' JSON types; nil when not set.
    static func optionValue(_ key: String, _ o: ConnectionOptions) -> JSONValue? {
        func int<T: BinaryInteger>(_ v: T?) -> JSONValue? { v.map { .number(String($0)) } }
        func bool(_ v: Bool?) -> JSONValue? { v.map { .bool($0) } }
        func string(_ v: String?) -> JSONValue? { v.map { .string($0) } }
        func object(_ v: [String: String]) -> JSONValue {
            .object(v.sorted(by: { $0.key < $1.key }).map { ($0.key, .string($0.value)) })
        }
        switch key.lowercased() {
        case "replicaset": return string(o.replicaSet)
        case "directconnection": return bool(o.directConnection)
        case "loadbalanced": return bool(o.loadBalanced)
        case "heartbeatfrequencyms": return int(o.heartbeatFrequencyMS)
        case "servermonitoringmode": return string(o.serverMonitoringMode?.rawValue)
        case "appname": return string(o.appName)
        case "readpreference": return string(o.readPreference?.mode.rawValue)
        case "readpreferencetags": return o.readPreference.map { .array($0.tagSets.map(object)) }
        case "maxstalenessseconds": return o.readPreference.map { int($0.maxStalenessSeconds) ?? .number("-1") }
        case "serverselectiontimeoutms": return int(o.serverSelectionTimeoutMS)
        case "serverselectiontryonce": return bool(o.serverSelectionTryOnce)
        case "socketcheckintervalms": return int(o.socketCheckIntervalMS)
        case "localthresholdms": return int(o.localThresholdMS)
        case "connecttimeoutms": return int(o.connectTimeoutMS)
        case "sockettimeoutms": return int(o.socketTimeoutMS)
        case "timeoutms": return int(o.timeoutMS)
        case "maxpoolsize": return int(o.maxPoolSize)
        case "minpoolsize": return int(o.minPoolSize)
        case "maxidletimems": return int(o.maxIdleTimeMS)
        case "waitqueuetimeoutms": return int(o.waitQueueTimeoutMS)
        case "maxconnecting": return int(o.maxConnecting)
        case "tls", "ssl": return bool(o.tls)
        case "tlsinsecure": return bool(o.tlsInsecure)
        case "tlsallowinvalidcertificates": return bool(o.tlsAllowInvalidCertificates)
        case "tlsallowinvalidhostnames": return bool(o.tlsAllowInvalidHostnames)
        case "tlscafile": return string(o.tlsCAFile)
        case "tlscertificatekeyfile": return string(o.tlsCertificateKeyFile)
        case "tlscertificatekeyfilepassword": return string(o.tlsCertificateKeyFilePassword)
        case "tlsdisableocspendpointcheck": return bool(o.tlsDisableOCSPEndpointCheck)
        case "tlsdisablecertificaterevocationcheck": return bool(o.tlsDisableCertificateRevocationCheck)
        case "authmechanism": return string(o.authMechanism)
        case "authsource": return string(o.authSource)
        case "authmechanismproperties": return o.authMechanismProperties.map(object)
        case "compressors": return o.compressors.map { .array($0.map { .string($0) }) }
        case "zlibcompressionlevel": return int(o.zlibCompressionLevel)
        case "retryreads": return bool(o.retryReads)
        case "retrywrites": return bool(o.retryWrites)
        case "maxadaptiveretries": return int(o.maxAdaptiveRetries)
        case "enableoverloadretargeting": return bool(o.enableOverloadRetargeting)
        case "w":
            switch o.w {
            case .count(let n): return .number(String(n))
            case .tag(let tag): return .string(tag)
            case nil: return nil
            }
        case "journal": return bool(o.journal)
        case "wtimeoutms": return int(o.wTimeoutMS)
        case "readconcernlevel": return string(o.readConcernLevel)
        case "srvmaxhosts": return int(o.srvMaxHosts)
        case "srvservicename": return string(o.srvServiceName)
        case "proxyhost": return string(o.proxyHost)
        case "proxyport": return int(o.proxyPort)
        case "proxyusername": return string(o.proxyUsername)
        case "proxypassword": return string(o.proxyPassword)
        default: return nil
        }
    }

    private static func show(_ value: JSONValue) -> String {
        JSONWriter.write(normalized(value))
    }

    /// Objects sorted by key, so they compare without regard to member order.
    static func normalized(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let members): return .object(members.map { ($0.0, normalized($0.1)) }.sorted(by: { $0.0 < $1.0 }))
        case .array(let items): return .array(items.map(normalized))
        default: return value
        }
    }
}
