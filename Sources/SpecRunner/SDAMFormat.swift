import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The SDAM unit-test format (`uri` and `phases` at the top; README of
/// server-discovery-and-monitoring/tests): one file is one test case. Each phase feeds hello
/// replies and application errors to a `TopologyStateMachine` and checks the resulting
/// description, or (in the `monitoring` folder) the SDAM events published so far.
public struct SDAMFormat: SpecFormat {
    public init() {}

    public var name: String { "sdam" }

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["phases"]?.arrayValue != nil && file.json["uri"]?.stringValue != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let name = file.json["description"]?.stringValue ?? file.stem
        let outcome: SpecOutcome
        do {
            try runCase(file.json)
            outcome = .passed
        } catch {
            outcome = .failed(error.description)
        }
        return [SpecCaseResult(file: file.path, name: name, outcome: outcome)]
    }

    /// Why a case failed: what was expected and what came.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    func runCase(_ json: JSONValue) throws(Failure) {
        guard let uri = json["uri"]?.stringValue, let phases = json["phases"]?.arrayValue else {
            throw Failure("file lacks uri or phases")
        }
        let settings = try topologySettings(fromTestURI: uri)
        var machine = TopologyStateMachine(settings: settings)
        var events = machine.open().events
        var now: Int64 = 0
        for (index, phase) in phases.enumerated() {
            let label = "phase \(index)" + (phase["description"]?.stringValue.map { " (\($0))" } ?? "")
            for response in phase["responses"]?.arrayValue ?? [] {
                now += 1
                let server = try serverDescription(fromResponse: response, now: now)
                events += machine.apply(server).events
            }
            for error in phase["applicationErrors"]?.arrayValue ?? [] {
                now += 1
                events += machine.handle(try applicationError(error, machine: machine), now: now).events
            }
            guard let outcome = phase["outcome"] else { throw Failure("\(label): no outcome") }
            do {
                if let expectedEvents = outcome["events"]?.arrayValue {
                    try checkEvents(expectedEvents, events)
                    events.removeAll()
                } else {
                    try checkTopology(outcome, machine)
                }
            } catch {
                throw Failure("\(label): \(error.description)")
            }
        }
    }

    // MARK: - Inputs

    func serverDescription(fromResponse response: JSONValue, now: Int64) throws(Failure) -> ServerDescription {
        guard let pair = response.arrayValue, pair.count == 2, let text = pair[0].stringValue else {
            throw Failure("response must be [address, hello], got \(response)")
        }
        let address = try parseAddress(text)
        let hello = try bsonDocument(pair[1], "hello reply")
        if hello.isEmpty {
            return ServerDescription(address: address, error: "network error (simulated by the test)", now: now)
        }
        return ServerDescription(address: address, hello: hello, roundTripTimeMS: 10, now: now)
    }

    func applicationError(_ json: JSONValue, machine: TopologyStateMachine) throws(Failure) -> ApplicationError {
        guard let text = json["address"]?.stringValue else { throw Failure("applicationError lacks address") }
        let address = try parseAddress(text)
        guard let when = json["when"]?.stringValue, let phase = ApplicationError.Phase(rawValue: when) else {
            throw Failure("applicationError 'when' must be beforeHandshakeCompletes or afterHandshakeCompletes")
        }
        let kind: ApplicationError.Kind
        switch json["type"]?.stringValue {
        case "network": kind = .network
        case "timeout": kind = .timeout
        case "command":
            guard let response = json["response"] else { throw Failure("command applicationError lacks response") }
            kind = .command(try bsonDocument(response, "applicationError response"))
        case let other: throw Failure("unknown applicationError type \(other ?? "nil")")
        }
        return ApplicationError(
            address: address,
            generation: json["generation"]?.intValue,
            maxWireVersion: json["maxWireVersion"]?.intValue ?? 0,
            phase: phase,
            kind: kind
        )
    }

    // MARK: - Topology outcome

    func checkTopology(_ outcome: JSONValue, _ machine: TopologyStateMachine) throws(Failure) {
        let topology = machine.description
        if let type = outcome["topologyType"]?.stringValue, type != topology.type.rawValue {
            throw Failure("topologyType: expected \(type), got \(topology.type.rawValue)")
        }
        if let setName = outcome["setName"] {
            try expectEqual("setName", setName.stringValue, topology.setName)
        }
        if let minutes = outcome["logicalSessionTimeoutMinutes"] {
            try expectEqual("logicalSessionTimeoutMinutes", minutes.int64Value, topology.logicalSessionTimeoutMinutes)
        }
        if let maxSetVersion = outcome["maxSetVersion"] {
            try expectEqual("maxSetVersion", maxSetVersion.int64Value, topology.maxSetVersion)
        }
        if let maxElectionId = outcome["maxElectionId"] {
            try expectEqual("maxElectionId", try objectID(maxElectionId), topology.maxElectionId)
        }
        if let compatible = outcome["compatible"]?.boolValue, compatible != topology.isCompatible {
            throw Failure("compatible: expected \(compatible), got \(topology.isCompatible) (\(topology.compatibilityError ?? ""))")
        }
        guard let servers = outcome["servers"]?.objectValue else { return }
        var expectedAddresses = Set<ServerAddress>()
        for (text, expected) in servers {
            let address = try parseAddress(text)
            expectedAddresses.insert(address)
            guard let actual = topology.servers[address] else {
                throw Failure("server \(address) expected but not in topology \(addresses(topology))")
            }
            do {
                try checkServer(expected, actual, poolGeneration: machine.poolGeneration(for: address))
            } catch {
                throw Failure("server \(address): \(error.description)")
            }
        }
        if expectedAddresses != Set(topology.servers.keys) {
            throw Failure("servers: expected \(expectedAddresses.sorted()), got \(addresses(topology))")
        }
    }

    /// Fields absent from the expectation are not checked; null means "none" (for the wire
    /// versions, the spec's default 0).
    func checkServer(_ expected: JSONValue, _ actual: ServerDescription, poolGeneration: Int?) throws(Failure) {
        if let type = expected["type"]?.stringValue, type != actual.type.rawValue {
            throw Failure("type: expected \(type), got \(actual.type.rawValue)" + (actual.error.map { " (error: \($0))" } ?? ""))
        }
        if let setName = expected["setName"] { try expectEqual("setName", setName.stringValue, actual.setName) }
        if let setVersion = expected["setVersion"] { try expectEqual("setVersion", setVersion.int64Value, actual.setVersion) }
        if let electionId = expected["electionId"] { try expectEqual("electionId", try objectID(electionId), actual.electionId) }
        if let minutes = expected["logicalSessionTimeoutMinutes"] {
            try expectEqual("logicalSessionTimeoutMinutes", minutes.int64Value, actual.logicalSessionTimeoutMinutes)
        }
        if let v = expected["minWireVersion"] { try expectEqual("minWireVersion", v.intValue ?? 0, actual.minWireVersion) }
        if let v = expected["maxWireVersion"] { try expectEqual("maxWireVersion", v.intValue ?? 0, actual.maxWireVersion) }
        if let tv = expected["topologyVersion"] {
            let expectedVersion: TopologyVersion?
            if tv.isNull {
                expectedVersion = nil
            } else {
                do { expectedVersion = try TopologyVersion(document: try bsonDocument(tv, "topologyVersion")) } catch {
                    throw Failure("expected topologyVersion unreadable: \(error)")
                }
            }
            try expectEqual("topologyVersion", expectedVersion, actual.topologyVersion)
        }
        if let error = expected["error"]?.stringValue, !(actual.error ?? "").contains(error) {
            throw Failure("error: expected to contain \"\(error)\", got \(actual.error.map { "\"\($0)\"" } ?? "nil")")
        }
        if let generation = expected["pool"]?["generation"]?.intValue {
            try expectEqual("pool.generation", generation, poolGeneration)
        }
    }

    // MARK: - Monitoring events

    func checkEvents(_ expected: [JSONValue], _ actual: [SDAMEvent]) throws(Failure) {
        let names = actual.map(\.specName)
        guard expected.count == actual.count else {
            throw Failure("expected \(expected.count) events, got \(actual.count): \(names)")
        }
        for (i, (want, got)) in zip(expected, actual).enumerated() {
            guard let (name, body) = want.objectValue?.first else { throw Failure("event \(i) is not an object") }
            guard name == got.specName else { throw Failure("event \(i): expected \(name), got \(got.specName) (all: \(names))") }
            do {
                switch got {
                case .topologyOpening, .topologyClosed:
                    break
                case .serverOpening(let address), .serverClosed(let address):
                    try expectAddress(body["address"], address)
                case let .serverDescriptionChanged(address, previous, new):
                    try expectAddress(body["address"], address)
                    try matchEventServer(body["previousDescription"], previous, "previousDescription")
                    try matchEventServer(body["newDescription"], new, "newDescription")
                case let .topologyDescriptionChanged(previous, new):
                    try matchEventTopology(body["previousDescription"], previous, "previousDescription")
                    try matchEventTopology(body["newDescription"], new, "newDescription")
                }
            } catch {
                throw Failure("event \(i) (\(name)): \(error.description)")
            }
        }
    }

    func expectAddress(_ json: JSONValue?, _ address: ServerAddress) throws(Failure) {
        guard let text = json?.stringValue else { throw Failure("expected event lacks address") }
        try expectEqual("address", try parseAddress(text), address)
    }

    /// In events every listed field is checked, and absent ones mean none/empty.
    func matchEventServer(_ json: JSONValue?, _ actual: ServerDescription, _ what: String) throws(Failure) {
        guard let json else { throw Failure("\(what) missing from expectation") }
        if let text = json["address"]?.stringValue { try expectEqual("\(what).address", try parseAddress(text), actual.address) }
        try expectEqual("\(what).type", json["type"]?.stringValue ?? "Unknown", actual.type.rawValue)
        try expectEqual("\(what).setName", json["setName"]?.stringValue, actual.setName)
        let primary = try json["primary"]?.stringValue.map { (t) throws(Failure) in try parseAddress(t) }
        try expectEqual("\(what).primary", primary, actual.primary)
        try expectEqual("\(what).hosts", try addressSet(json["hosts"]), actual.hosts)
        try expectEqual("\(what).passives", try addressSet(json["passives"]), actual.passives)
        try expectEqual("\(what).arbiters", try addressSet(json["arbiters"]), actual.arbiters)
    }

    func matchEventTopology(_ json: JSONValue?, _ actual: TopologyDescription, _ what: String) throws(Failure) {
        guard let json else { throw Failure("\(what) missing from expectation") }
        try expectEqual("\(what).topologyType", json["topologyType"]?.stringValue ?? "Unknown", actual.type.rawValue)
        try expectEqual("\(what).setName", json["setName"]?.stringValue, actual.setName)
        let servers = json["servers"]?.arrayValue ?? []
        var seen = Set<ServerAddress>()
        for server in servers {
            guard let text = server["address"]?.stringValue else { throw Failure("\(what): server lacks address") }
            let address = try parseAddress(text)
            seen.insert(address)
            guard let description = actual.servers[address] else {
                throw Failure("\(what): server \(address) expected, have \(addresses(actual))")
            }
            try matchEventServer(server, description, "\(what).servers[\(address)]")
        }
        if seen != Set(actual.servers.keys) {
            throw Failure("\(what).servers: expected \(seen.sorted()), got \(addresses(actual))")
        }
    }

    // MARK: - Helpers

    func expectEqual<T: Equatable>(_ what: String, _ expected: T, _ actual: T) throws(Failure) {
        guard expected == actual else { throw Failure("\(what): expected \(expected), got \(actual)") }
    }

    func parseAddress(_ text: String) throws(Failure) -> ServerAddress {
        guard let address = ServerAddress(text) else { throw Failure("bad address \"\(text)\"") }
        return address
    }

    func addressSet(_ json: JSONValue?) throws(Failure) -> Set<ServerAddress> {
        var out = Set<ServerAddress>()
        for item in json?.arrayValue ?? [] {
            guard let text = item.stringValue else { throw Failure("address list holds a non-string") }
            out.insert(try parseAddress(text))
        }
        return out
    }

    func addresses(_ topology: TopologyDescription) -> [ServerAddress] { topology.servers.keys.sorted() }

    func bsonDocument(_ json: JSONValue, _ what: String) throws(Failure) -> BSONDocument {
        let value: BSON
        do { value = try ExtendedJSON.value(from: json) } catch { throw Failure("\(what): \(error)") }
        guard case .document(let doc) = value else { throw Failure("\(what) is not a document") }
        return doc
    }

    func objectID(_ json: JSONValue) throws(Failure) -> BSONObjectID? {
        if json.isNull { return nil }
        let value: BSON
        do { value = try ExtendedJSON.value(from: json) } catch { throw Failure("bad ObjectId: \(error)") }
        guard let oid = value.objectIDValue else { throw Failure("expected an ObjectId, got \(json)") }
        return oid
    }
}

// MARK: - Test URI reading (stand-in for the connection-string parser)

/// The test's `uri`, through the real connection-string parser.
func topologySettings(fromTestURI uri: String) throws(SDAMFormat.Failure) -> TopologySettings {
    do {
        return try ClientSettings(connectionString: try ConnectionString(uri)).topology
    } catch {
        throw SDAMFormat.Failure("invalid test uri \(uri): \(error)")
    }
}
