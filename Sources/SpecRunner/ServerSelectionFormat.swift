import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The server-selection logic tests (`server-selection/tests/server_selection/**`) and the
/// max-staleness tests (`max-staleness/tests/**`): one file is one case. A topology, an
/// operation and a read preference go in; the suitable servers and those in the latency
/// window, or an error, come out.
public struct ServerSelectionFormat: SpecFormat {
    public init() {}

    public var name: String { "server-selection" }

    public func recognizes(_ file: SpecFile) -> Bool {
        let json = file.json
        return json["topology_description"] != nil && json["mocked_topology_state"] == nil
            && (json["suitable_servers"] != nil || json["in_latency_window"] != nil || json["error"] != nil)
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        SelectionSpecData.fileCase(file, check)
    }

    private func check(_ json: JSONValue) throws(SelectionSpecData.Malformed) -> SpecOutcome {
        let topology = try SelectionSpecData.topology(json["topology_description"])
        let readPreference = try SelectionSpecData.readPreference(json["read_preference"])
        let operation: ServerSelectionOperation
        switch json["operation"]?.stringValue ?? "read" {
        case "read": operation = .read(readPreference)
        case "write": operation = .write
        case let other: throw SelectionSpecData.Malformed(description: "unknown operation \(other)")
        }
        var selector = ServerSelector()
        if let heartbeat = json["heartbeatFrequencyMS"] {
            guard let value = heartbeat.intValue else {
                throw SelectionSpecData.Malformed(description: "heartbeatFrequencyMS must be an integer")
            }
            selector.heartbeatFrequencyMS = value
        }
        let deprioritized = Set(try SelectionSpecData.addresses(json["deprioritized_servers"]))
        let expectsError = json["error"]?.boolValue ?? false

        let result: ServerSelector.Result
        do {
            result = try selector.suitableServers(for: operation, in: topology, deprioritized: deprioritized)
        } catch {
            return expectsError ? .passed : .failed("expected servers, got error: \(error)")
        }
        if expectsError {
            return .failed("expected an error, got suitable \(text(result.suitable.map(\.address)))")
        }
        var problems: [String] = []
        if json["suitable_servers"] != nil {
            let expected = try SelectionSpecData.addresses(json["suitable_servers"])
            let actual = result.suitable.map(\.address).sorted()
            if expected != actual { problems.append("suitable_servers: expected \(text(expected)), got \(text(actual))") }
        }
        if json["in_latency_window"] != nil {
            let expected = try SelectionSpecData.addresses(json["in_latency_window"])
            let actual = result.inLatencyWindow.map(\.address).sorted()
            if expected != actual { problems.append("in_latency_window: expected \(text(expected)), got \(text(actual))") }
        }
        return problems.isEmpty ? .passed : .failed(problems.joined(separator: "; "))
    }

    private func text(_ addresses: [ServerAddress]) -> String {
        "[" + addresses.map(\.description).joined(separator: ", ") + "]"
    }
}
