import Foundation
import Logging
import MongoBSON
import SDAMCore
import MongoWire
import MongoClientPool
import MongoSimulator
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// The initial DNS seedlist discovery format: a `mongodb+srv://` `uri`, and what its SRV and
/// TXT records must give — `seeds`/`numSeeds`, `hosts`/`numHosts` once discovery ran, the
/// `options` and `parsed_options`, or an `error` — and a `ping`.
///
/// Run inside the DNS sandbox (`DNSSandbox`: `sdam spec-test` enters it by itself), where the
/// tests' DNS server serves the README's test.build.10gen.cc records and the simulator serves,
/// one after the other, the deployment of each folder on the ports the README names, over TLS
/// (also taking plaintext, for the test that turns TLS off), with certificates made when the
/// run starts. Each file makes a `ClientPool` from its URI as an application would; the
/// run's CA is the only thing added (it trusts the generated certificates). Outside the
/// sandbox the cases whose error the URI parser raises by itself run, and the others are
/// skipped with the reason the sandbox could not be entered.
public struct DNSSeedlistFormat: SpecFormat {
    public init() {}

    public var name: String { "initial-dns-seedlist-discovery" }

    public func recognizes(_ file: SpecFile) -> Bool {
        guard let uri = file.json["uri"]?.stringValue else { return false }
        return uri.hasPrefix("mongodb+srv://") && file.json["tests"] == nil && file.json["phases"] == nil
    }

    /// Whether any of `files` is of this format's folder (the sandbox is worth entering).
    public static func needsSandbox(_ files: [String]) -> Bool {
        files.contains { $0.contains("initial-dns-seedlist-discovery/") }
    }

    /// Why the sandbox could not be entered, for the skips' reason (set by the command).
    static let unavailable = ConditionLock<String?>(nil)

    /// Inside the sandbox, sets it up before the run (loopback, resolver, DNS server): the
    /// files before this format's, of other formats, need the loopback too.
    public static func prepareSandbox() {
        _ = DNSTestEnvironment.current()
    }

    /// Tells the skipped cases why the sandbox could not be entered.
    public static func sandboxUnavailable(_ reason: String) {
        unavailable.withLock { $0 = reason }
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let uri = file.json["uri"]?.stringValue ?? ""
        let expectsError = file.json["error"]?.boolValue == true
        func result(_ outcome: SpecOutcome) -> [SpecCaseResult] {
            [SpecCaseResult(file: file.path, name: file.stem, outcome: outcome)]
        }
        let parseError: String?
        do {
            _ = try ConnectionString(uri)
            parseError = nil
        } catch {
            parseError = error.description
        }
        if expectsError, parseError != nil { return result(.passed) }
        if let parseError {
            return result(.failed("expected \(uri) to parse (the test expects DNS results), got: \(parseError)"))
        }
        guard let environment = DNSTestEnvironment.current() else {
            let why = Self.unavailable.withLock { $0 } ?? "not inside the DNS sandbox: run `sdam spec-test`, which enters it (unshare -mn, as root)"
            return result(.skipped("needs the SRV/TXT records served by the tests' DNS server: \(why)"))
        }
        do {
            return result(try environment.run(file, uri: uri, expectsError: expectsError))
        } catch {
            return result(.failed("\(error)"))
        }
    }

    public func finish() {
        DNSTestEnvironment.stopCurrent()
    }
}

/// The DNS sandbox's run: the DNS server, the certificates and the deployment now serving.
final class DNSTestEnvironment: Sendable {
    private static let shared = ConditionLock<DNSTestEnvironment?>(nil)

    let dns: TestDNSServer
    let certificates: GeneratedCertificates
    private let deployment = ConditionLock<(folder: String, simulator: MongoSimulator)?>(nil)

    private init(dns: TestDNSServer, certificates: GeneratedCertificates) {
        self.dns = dns
        self.certificates = certificates
    }

    /// The environment of this run, started on first use inside the sandbox; nil outside it
    /// (or when it cannot start: the reason is then in `DNSSeedlistFormat.unavailable`).
    static func current() -> DNSTestEnvironment? {
        guard DNSSandbox.isInside else { return nil }
        return shared.withLock { current -> DNSTestEnvironment? in
            if let current { return current }
            guard DNSSeedlistFormat.unavailable.withLock({ $0 }) == nil else { return nil }
            do {
                let dns = try DNSSandbox.prepare()
                do {
                    current = DNSTestEnvironment(dns: dns, certificates: try GeneratedCertificates.generate())
                } catch {
                    dns.stop()
                    throw error
                }
            } catch {
                DNSSeedlistFormat.unavailable.withLock { $0 = "the DNS sandbox could not be prepared: \(error)" }
            }
            return current
        }
    }

    /// Stops the deployment and the DNS server and deletes the certificates.
    static func stopCurrent() {
        guard let environment = shared.withLock({ c -> DNSTestEnvironment? in defer { c = nil }; return c }) else { return }
        environment.deployment.withLock { $0?.simulator.stop(); $0 = nil }
        environment.dns.stop()
        environment.certificates.remove()
    }

    /// The deployment the README gives for a folder, on its ports, named "localhost".
    static func configuration(for folder: String, certificates: GeneratedCertificates) -> SimulatorConfiguration? {
        let kind: SimulatorConfiguration.Kind
        let portBase: UInt16
        switch folder {
        case "replica-set": (kind, portBase) = (.replicaSet(name: "repl0", members: 3), 27017)
        case "sharded": (kind, portBase) = (.mongos(count: 2), 27017)
        // The README's HAProxy on port 8000 in front of the mongos: here a mongos on 8000
        // that answers load-balanced hellos with a serviceId, as one behind a balancer does.
        case "load-balanced": (kind, portBase) = (.mongos(count: 1), 8000)
        default: return nil
        }
        var configuration = SimulatorConfiguration(
            kind: kind, portBase: portBase, threadName: "dns-sim",
            tls: TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.serverFile))
        configuration.allowPlaintext = true
        configuration.hostName = "localhost"
        return configuration
    }

    /// Starts the folder's deployment unless it is already serving (the folders share ports,
    /// so the previous one stops first).
    func deployment(for folder: String) throws -> MongoSimulator {
        try deployment.withLock { current -> MongoSimulator in
            if let current, current.folder == folder { return current.simulator }
            current?.simulator.stop()
            current = nil
            guard let configuration = Self.configuration(for: folder, certificates: certificates) else {
                throw RunError("no deployment is known for the folder '\(folder)'")
            }
            let simulator = try MongoSimulator(configuration)
            current = (folder, simulator)
            return simulator
        }
    }

    struct RunError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// One file: the pool from its URI, the seed list, the options, the ping, the hosts.
    func run(_ file: SpecFile, uri: String, expectsError: Bool) throws -> SpecOutcome {
        _ = try deployment(for: file.folders.last ?? "")
        let caFile = certificates.caFile
        let pool: ClientPool
        do {
            // Quiet: the URIs' warnings (authSource without credentials, ...) are expected.
            let quiet = Logger(label: "spec-dns", factory: { _ in SwiftLogNoOpLogHandler() })
            pool = try ClientPool(uri: uri, logger: quiet, events: EventPublisher()) { settings in
                settings.tls?.caFile = caFile
                settings.monitoring.threadName = "dns-spec"
                if expectsError { settings.topology.serverSelectionTimeout = .seconds(2) }
            }
        } catch {
            return expectsError ? .passed : .failed("creating the pool failed: \(error)")
        }
        defer { pool.close() }
        let status = Self.firstOutcome(of: pool.topology)
        if expectsError {
            switch status {
            case .invalid, .awaitingDNS(lastFailure: .some):
                // The error reaches operations: at once for an invalid answer, at the selection
                // timeout (which names it) for a failed lookup.
                do {
                    try pool.withClient { _ = try $0.runCommand(["ping": .int32(1)], database: "admin") }
                    return .failed("the records' error was expected to fail the ping; it succeeded")
                } catch {
                    let expected = status.refusal?.description ?? status.pendingFailure?.description ?? ""
                    return "\(error)".contains(expected) ? .passed : .failed("the ping failed without naming \(expected): \(error)")
                }
            case .discovered:
                return .failed("expected an error; DNS gave seeds \(pool.resolvedSeedlist?.seeds.map(\.description) ?? [])")
            default:
                return .failed("expected an error; the first lookup did not end within 10 s (\(status))")
            }
        }
        guard status == .discovered, let seedlist = pool.resolvedSeedlist else {
            return .failed("DNS gave no seed list: \(status)")
        }
        var problems = checkSeeds(file.json, seedlist)
        problems += checkOptions(file.json, seedlist, pool: pool)
        if file.json["ping"]?.boolValue != false {
            do {
                let reply = try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") }
                if reply["ok"]?.isTruthy != true { problems.append("ping replied \(reply)") }
            } catch {
                problems.append("ping failed: \(error)")
            }
        }
        problems += checkHosts(file.json, pool.topology)
        return problems.isEmpty ? .passed : .failed(problems.joined(separator: "; "))
    }

    /// The seed list status once the first lookup ended (at most 10 s).
    static func firstOutcome(of topology: Topology) -> SeedlistStatus {
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        var snapshot = topology.snapshot
        while snapshot.seedlist == .awaitingDNS(lastFailure: nil) {
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else { break }
            snapshot = next
        }
        return snapshot.seedlist
    }

    private func checkSeeds(_ json: JSONValue, _ seedlist: ResolvedSeedlist) -> [String] {
        var problems: [String] = []
        let seeds = Set(seedlist.seeds.map(\.description))
        if let expected = json["seeds"]?.arrayValue?.compactMap(\.stringValue), Set(expected.map(Self.normalized)) != seeds {
            problems.append("seeds \(seeds.sorted()), expected \(expected.sorted())")
        }
        if let count = json["numSeeds"]?.intValue, seeds.count != count {
            problems.append("\(seeds.count) seeds, expected \(count)")
        }
        return problems
    }

    /// Waits (at most 10 s) until the topology's servers are the expected hosts.
    private func checkHosts(_ json: JSONValue, _ topology: Topology) -> [String] {
        let expected = json["hosts"]?.arrayValue.map { Set($0.compactMap(\.stringValue).map(Self.normalized)) }
        let count = json["numHosts"]?.intValue
        guard expected != nil || count != nil else { return [] }
        let deadline = MonotonicClock.nanoseconds() + 10_000_000_000
        var snapshot = topology.snapshot
        func matches(_ description: TopologyDescription) -> Bool {
            let hosts = Set(description.servers.keys.map(\.description))
            return (expected.map { $0 == hosts } ?? true) && (count.map { $0 == hosts.count } ?? true)
        }
        while !matches(snapshot.description) {
            guard let next = try? topology.waitForChange(after: snapshot.version, until: deadline) else {
                let hosts = snapshot.description.servers.keys.map(\.description).sorted()
                return ["hosts \(hosts), expected \(expected.map { $0.sorted() }.map { "\($0)" } ?? "\(count ?? 0) hosts")"]
            }
            snapshot = next
        }
        return []
    }

    private func checkOptions(_ json: JSONValue, _ seedlist: ResolvedSeedlist, pool: ClientPool) -> [String] {
        var problems: [String] = []
        let connectionString = seedlist.connectionString
        let options = connectionString.options
        func compare(_ key: String, _ actual: JSONValue) {
            guard let expected = json["options"]?[key] ?? json["parsed_options"]?[key] else { return }
            if actual != expected { problems.append("\(key) is \(JSONWriter.write(actual)), expected \(JSONWriter.write(expected))") }
        }
        func string(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func bool(_ value: Bool?) -> JSONValue { value.map(JSONValue.bool) ?? .null }
        func int(_ value: Int?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        compare("ssl", bool(pool.settings.tls != nil))
        compare("tls", bool(pool.settings.tls != nil))
        compare("replicaSet", string(options.replicaSet))
        compare("authSource", string(options.authSource))
        compare("loadBalanced", bool(options.loadBalanced))
        compare("directConnection", bool(options.directConnection))
        compare("srvMaxHosts", int(options.srvMaxHosts))
        compare("srvServiceName", string(options.srvServiceName))
        compare("user", string(connectionString.username))
        compare("password", string(connectionString.password))
        compare("db", string(connectionString.authDatabase))
        compare("auth_database", string(connectionString.authDatabase))
        compare("defaultDatabase", string(connectionString.authDatabase))
        let known: Set<String> = ["ssl", "tls", "replicaSet", "authSource", "loadBalanced", "directConnection", "srvMaxHosts",
                                  "srvServiceName", "user", "password", "db", "auth_database", "defaultDatabase"]
        for section in ["options", "parsed_options"] {
            guard case .object(let fields)? = json[section] else { continue }
            for (key, _) in fields where !known.contains(key) { problems.append("the runner does not check \(section).\(key)") }
        }
        return problems
    }

    /// "host:port" as `ServerAddress` writes it (lowercase).
    static func normalized(_ text: String) -> String {
        ServerAddress(text)?.description ?? text
    }
}
