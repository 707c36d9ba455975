import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import MongoClientPool
import MongoSimulator

/// The connection-monitoring-and-pooling format (`style: unit` or `integration`, `operations`,
/// `events`; tests/cmap-format/README.md): one file is one case. Unit files drive a
/// `ServerConnectionPool` of mock connections (established at once, no I/O); integration files
/// drive a `ServerConnectionPool<ServerConnection>` against a simulated standalone on loopback,
/// started for the file, with the file's `failPoint` configured on it and stopped afterwards.
///
/// The pool has no thread of its own, so the runner plays its background thread: a
/// `backgroundRun()` every `backgroundThreadIntervalMS` (10 ms when the file sets none, never
/// when it is negative), and, for an error while populating minPoolSize, SDAM's part: the pool
/// is cleared, as SDAM's error handling clears it for a pre-handshake error.
public struct CMAPFormat: SpecFormat {
    public init() {}

    public var name: String { "cmap-format" }

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["style"]?.stringValue != nil && file.json["operations"] != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let name = file.json["description"]?.stringValue ?? file.stem
        let outcome: SpecOutcome
        do {
            let test = try CMAPTest(file.json)
            switch test.style {
            case .unit:
                outcome = try runUnit(test)
            case .integration:
                outcome = try runIntegration(test)
            }
        } catch {
            outcome = .failed(error.description)
        }
        return [SpecCaseResult(file: file.path, name: name, outcome: outcome)]
    }

    typealias Failure = SDAMFormat.Failure

    /// A mock connection: nothing to interrupt or close (CMAP README: "Drivers MAY use a mock
    /// connection class for testing the pool behavior in unit tests").
    final class MockConnection: PoolableConnection {
        func interrupt() {}
        func close() {}
    }

    private func runUnit(_ test: CMAPTest) throws(Failure) -> SpecOutcome {
        let address = ServerAddress(host: "cmap-unit.test", port: 27017)
        return try CMAPTestRun<MockConnection>.execute(test, address: address) { _, _ in MockConnection() }.outcome
    }

    // MARK: - Integration

    private func runIntegration(_ test: CMAPTest) throws(Failure) -> SpecOutcome {
        let simulator: MongoSimulator
        do {
            simulator = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "cmap-sim"))
        } catch {
            throw Failure("could not start the simulated standalone: \(error)")
        }
        defer { simulator.stop() }
        guard let addressText = simulator.addresses.first, let address = ServerAddress(addressText) else {
            throw Failure("the simulated standalone has no address")
        }
        let settings = try Self.settings(address: addressText, appName: test.appName)
        if let unmet = try Self.unmetRequirement(test.runOn, address: address, settings: settings) {
            return .skipped("runOn: \(unmet)")
        }
        if let failPoint = test.failPoint {
            let command = try SDAMFormat().bsonDocument(failPoint, "failPoint")
            try Self.configureFailPoint(command, on: simulator, at: addressText)
        }
        defer {
            // CMAP README: every fail point enabled is disabled at the end of the test.
            if let name = test.failPoint?["configureFailPoint"]?.stringValue {
                let off: BSONDocument = ["configureFailPoint": .string(name), "mode": .string("off")]
                try? Self.configureFailPoint(off, on: simulator, at: addressText)
            }
        }
        return try CMAPTestRun<ServerConnection>.execute(test, address: address) { generation, canceller throws(ConnectionError) in
            try ServerConnection.establish(to: address, generation: generation, settings: settings, canceller: canceller)
        }.outcome
    }

    /// The pool's settings: `poolOptions.appName` goes into the handshake (the fail points
    /// filter on it).
    private static func settings(address: String, appName: String?) throws(Failure) -> ClientSettings {
        var uri = "mongodb://\(address)/?directConnection=true"
        if let appName {
            let encoded = appName.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? appName
            uri += "&appName=\(encoded)"
        }
        do {
            return try ClientSettings(connectionString: try ConnectionString(uri))
        } catch {
            throw Failure("settings from \(uri): \(error)")
        }
    }

    private static func configureFailPoint(_ command: BSONDocument, on simulator: MongoSimulator, at address: String) throws(Failure) {
        let reply: BSONDocument
        do {
            reply = try simulator.configureFailPoint(command, on: address)
        } catch {
            throw Failure("configureFailPoint \(command): \(error)")
        }
        guard reply["ok"]?.isTruthy == true else { throw Failure("configureFailPoint \(command) refused: \(reply)") }
    }

    /// `runOn`: nil when the endpoint (its `buildInfo` version) satisfies one of the
    /// requirements (or there are none), else what it lacks.
    private static func unmetRequirement(_ runOn: [JSONValue], address: ServerAddress, settings: ClientSettings) throws(Failure) -> String? {
        guard !runOn.isEmpty else { return nil }
        let version: [Int]
        do {
            let probe = try ServerConnection.establish(to: address, generation: 0, settings: settings)
            defer { probe.close() }
            let reply = try probe.run(["buildInfo": .int32(1)], database: "admin", socketTimeout: .seconds(5))
            version = versionNumbers(reply["version"]?.stringValue ?? "")
        } catch {
            throw Failure("buildInfo on \(address): \(error.reason)")
        }
        var unmet: [String] = []
        for requirement in runOn {
            if let topologies = requirement["topology"]?.arrayValue, !topologies.contains(.string("single")) {
                unmet.append("topology \(topologies)")
                continue
            }
            if let min = requirement["minServerVersion"]?.stringValue, version.lexicographicallyPrecedes(versionNumbers(min)) {
                unmet.append("server \(version) < \(min)")
                continue
            }
            if let max = requirement["maxServerVersion"]?.stringValue, versionNumbers(max).lexicographicallyPrecedes(version) {
                unmet.append("server \(version) > \(max)")
                continue
            }
            return nil
        }
        return unmet.joined(separator: "; ")
    }

    private static func versionNumbers(_ text: String) -> [Int] {
        var numbers = text.split(separator: ".").map { Int($0.prefix(while: \.isNumber)) ?? 0 }
        while numbers.count < 3 { numbers.append(0) }
        return numbers
    }
}

/// One file of the CMAP format, read.
struct CMAPTest {
    enum Style { case unit, integration }

    var style: Style
    var options: ConnectionPoolOptions
    var appName: String?
    /// nil: the runner's choice (10 ms); negative: never.
    var backgroundThreadIntervalMS: Int?
    var operations: [JSONValue]
    var error: JSONValue?
    var events: [JSONValue]
    var ignore: Set<String>
    var failPoint: JSONValue?
    var runOn: [JSONValue]

    init(_ json: JSONValue) throws(SDAMFormat.Failure) {
        switch json["style"]?.stringValue {
        case "unit": style = .unit
        case "integration": style = .integration
        case let other: throw .init("unknown style \(other ?? "(none)")")
        }
        var maxPoolSize = SDAMDefaults.maxPoolSize, minPoolSize = 0, maxConnecting = SDAMDefaults.maxConnecting
        var maxIdleTime: Duration?, waitQueueTimeout: Duration?
        for (key, value) in json["poolOptions"]?.objectValue ?? [] {
            func integer() throws(SDAMFormat.Failure) -> Int {
                guard let n = value.intValue else { throw .init("poolOptions.\(key) is not an integer: \(value)") }
                return n
            }
            switch key {
            case "maxPoolSize": maxPoolSize = try integer()
            case "minPoolSize": minPoolSize = try integer()
            case "maxConnecting": maxConnecting = try integer()
            case "maxIdleTimeMS": maxIdleTime = .milliseconds(try integer())
            case "waitQueueTimeoutMS": waitQueueTimeout = .milliseconds(try integer())
            case "backgroundThreadIntervalMS": backgroundThreadIntervalMS = try integer()
            case "appName": appName = value.stringValue
            default: throw .init("unsupported pool option \(key)")
            }
        }
        options = ConnectionPoolOptions(maxPoolSize: maxPoolSize, minPoolSize: minPoolSize, maxIdleTime: maxIdleTime,
                                        maxConnecting: maxConnecting, waitQueueTimeout: waitQueueTimeout)
        operations = json["operations"]?.arrayValue ?? []
        error = json["error"]
        events = json["events"]?.arrayValue ?? []
        ignore = Set((json["ignore"]?.arrayValue ?? []).compactMap(\.stringValue))
        failPoint = json["failPoint"]
        runOn = json["runOn"]?.arrayValue ?? []
    }
}

/// The CMAP README's MATCH: `expected` is a subset of `actual`, with 42 and "42" standing for
/// any value that exists. Returns what differs, nil when it matches.
func cmapMismatch(_ actual: JSONValue?, _ expected: JSONValue, at path: String) -> String? {
    if expected == .number("42") || expected == .string("42") {
        return actual == nil || actual == .null ? "\(path): missing" : nil
    }
    guard let actual else { return "\(path): missing, expected \(JSONWriter.write(expected))" }
    let differs = "\(path): expected \(JSONWriter.write(expected)), got \(JSONWriter.write(actual))"
    switch (expected, actual) {
    case (.object(let members), .object):
        for (key, value) in members {
            if let why = cmapMismatch(actual[key], value, at: "\(path).\(key)") { return why }
        }
        return nil
    case (.array(let items), .array(let got)):
        for (i, value) in items.enumerated() {
            if let why = cmapMismatch(i < got.count ? got[i] : nil, value, at: "\(path)[\(i)]") { return why }
        }
        return nil
    case (.number(let e), .number(let a)):
        return Double(e) == Double(a) ? nil : differs
    default:
        return expected == actual ? nil : differs
    }
}

extension ConnectionPoolEvent {
    /// The event as the CMAP test format spells it: `type`, `address`, `connectionId`,
    /// `duration`, `reason`, `options`, `interruptInUseConnections`, `serviceId`.
    var cmapJSON: JSONValue {
        var fields: [(String, JSONValue)] = [("type", .string(typeName))]
        for (key, value) in MonitoringEvent.pool(self).jsonFields {
            fields.append((key == "durationMS" ? "duration" : key, value))
        }
        if case .poolCreated(_, let options) = self {
            fields.append(("options", .object(options.nonDefaultSpecFields)))
        }
        return .object(fields)
    }
}
