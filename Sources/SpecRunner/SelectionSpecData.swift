import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Reading the server-selection and max-staleness test files' shared pieces
/// (`topology_description`, server entries, `read_preference`) into the driver's own types.
/// Type names in the files are the `ServerType`/`TopologyType` raw values.
enum SelectionSpecData {
    /// A part of a test file that is not what the format says.
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// The one case of a file whose unit is the whole file: a malformed file is a failure that
    /// says what was wrong, never a crash.
    static func fileCase(
        _ file: SpecFile,
        name: String? = nil,
        _ check: (JSONValue) throws(Malformed) -> SpecOutcome
    ) -> [SpecCaseResult] {
        let outcome: SpecOutcome
        do {
            outcome = try check(file.json)
        } catch {
            outcome = .failed("malformed test file: \(error)")
        }
        return [SpecCaseResult(file: file.path, name: name ?? file.stem, outcome: outcome)]
    }

    static func topology(_ json: JSONValue?) throws(Malformed) -> TopologyDescription {
        guard let json, let typeName = json["type"]?.stringValue else {
            throw Malformed(description: "topology_description needs a string `type`")
        }
        guard let type = TopologyType(rawValue: typeName) else {
            throw Malformed(description: "unknown topology type \(typeName)")
        }
        var topology = TopologyDescription(type: type)
        for entry in json["servers"]?.arrayValue ?? [] {
            let server = try server(entry)
            topology.servers[server.address] = server
        }
        return topology
    }

    static func address(_ json: JSONValue?) throws(Malformed) -> ServerAddress {
        guard let text = json?["address"]?.stringValue ?? json?.stringValue else {
            throw Malformed(description: "server entry needs a string `address`")
        }
        guard let address = ServerAddress(text) else {
            throw Malformed(description: "bad server address \(text)")
        }
        return address
    }

    static func server(_ json: JSONValue) throws(Malformed) -> ServerDescription {
        var server = ServerDescription(address: try address(json))
        if let typeName = json["type"]?.stringValue {
            guard let type = ServerType(rawValue: typeName) else {
                throw Malformed(description: "unknown server type \(typeName)")
            }
            server.type = type
        }
        server.roundTripTimeMS = json["avg_rtt_ms"]?.doubleValue
        if let wire = json["maxWireVersion"] {
            guard let value = wire.intValue else { throw Malformed(description: "maxWireVersion must be an integer") }
            server.maxWireVersion = value
        }
        if let updated = json["lastUpdateTime"] {
            guard let value = integer(updated) else { throw Malformed(description: "lastUpdateTime must be an integer") }
            server.lastUpdateTimeMS = value
        }
        if let written = json["lastWrite"]?["lastWriteDate"] {
            guard let value = integer(written) else { throw Malformed(description: "lastWriteDate must be an integer") }
            server.lastWriteDateMS = value
        }
        for (key, value) in json["tags"]?.objectValue ?? [] {
            guard let text = value.stringValue else { throw Malformed(description: "tag \(key) must be a string") }
            server.tags[key] = text
        }
        return server
    }

    /// A plain JSON integer or an Extended JSON `{"$numberLong": "..."}`.
    static func integer(_ json: JSONValue) -> Int64? {
        if let value = json.int64Value { return value }
        return json["$numberLong"]?.stringValue.flatMap { Int64($0) }
    }

    /// A read preference document; the files spell modes capitalised ("SecondaryPreferred")
    /// and a missing mode means primary.
    static func readPreference(_ json: JSONValue?) throws(Malformed) -> ReadPreference {
        guard let json else { return .primary }
        var mode = ReadPreference.Mode.primary
        if let name = json["mode"]?.stringValue {
            guard let found = ReadPreference.Mode.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else {
                throw Malformed(description: "unknown read preference mode \(name)")
            }
            mode = found
        }
        var tagSets: [[String: String]] = []
        for set in json["tag_sets"]?.arrayValue ?? [] {
            guard let members = set.objectValue else { throw Malformed(description: "tag_sets entries must be documents") }
            var tagSet: [String: String] = [:]
            for (key, value) in members {
                guard let text = value.stringValue else { throw Malformed(description: "tag \(key) must be a string") }
                tagSet[key] = text
            }
            tagSets.append(tagSet)
        }
        var maxStaleness: Int?
        if let seconds = json["maxStalenessSeconds"] {
            guard let value = seconds.intValue else { throw Malformed(description: "maxStalenessSeconds must be an integer") }
            maxStaleness = value
        }
        return ReadPreference(mode: mode, tagSets: tagSets, maxStalenessSeconds: maxStaleness)
    }

    /// Addresses of a list of server entries, sorted, for messages and comparison.
    static func addresses(_ json: JSONValue?) throws(Malformed) -> [ServerAddress] {
        var result: [ServerAddress] = []
        for entry in json?.arrayValue ?? [] { result.append(try address(entry)) }
        return result.sorted()
    }
}
