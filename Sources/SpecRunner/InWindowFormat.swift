import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The selection-within-the-latency-window tests (`server-selection/tests/in_window`): one file
/// is one case. With mocked operation counts, `iterations` selections with read preference
/// nearest must pick each server at its expected frequency, within `tolerance` (exactly, for
/// expected frequencies 0 and 1). The randomness is a fixed-seed generator, so runs repeat.
public struct InWindowFormat: SpecFormat {
    public init() {}

    public var name: String { "in-window" }

    /// The generator seed: any value works; a fixed one makes failures reproducible.
    static let seed: UInt64 = 0x5EED_5E1E_C7

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["topology_description"] != nil && file.json["mocked_topology_state"] != nil
            && file.json["outcome"]?["expected_frequencies"] != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        SelectionSpecData.fileCase(file, name: file.json["description"]?.stringValue, check)
    }

    private func check(_ json: JSONValue) throws(SelectionSpecData.Malformed) -> SpecOutcome {
        let topology = try SelectionSpecData.topology(json["topology_description"])
        var counts: [ServerAddress: Int] = [:]
        for entry in json["mocked_topology_state"]?.arrayValue ?? [] {
            guard let count = entry["operation_count"]?.intValue else {
                throw SelectionSpecData.Malformed(description: "operation_count must be an integer")
            }
            counts[try SelectionSpecData.address(entry)] = count
        }
        guard let iterations = json["iterations"]?.intValue, iterations > 0 else {
            throw SelectionSpecData.Malformed(description: "iterations must be a positive integer")
        }
        guard let tolerance = json["outcome"]?["tolerance"]?.doubleValue else {
            throw SelectionSpecData.Malformed(description: "outcome.tolerance must be a number")
        }
        var expected: [(ServerAddress, Double)] = []
        for (key, value) in json["outcome"]?["expected_frequencies"]?.objectValue ?? [] {
            guard let address = ServerAddress(key), let frequency = value.doubleValue else {
                throw SelectionSpecData.Malformed(description: "bad expected_frequencies entry \(key)")
            }
            expected.append((address, frequency))
        }

        let selector = ServerSelector()
        var generator = SplitMix64(seed: Self.seed)
        var chosen: [ServerAddress: Int] = [:]
        for _ in 0..<iterations {
            let server: ServerDescription?
            do {
                server = try selector.select(
                    for: .read(.nearest), in: topology,
                    operationCount: { counts[$0] ?? 0 }, using: &generator
                )
            } catch {
                return .failed("selection failed: \(error)")
            }
            guard let server else { return .failed("no server was selected") }
            chosen[server.address, default: 0] += 1
        }
        var problems: [String] = []
        for (address, frequency) in expected {
            let observed = Double(chosen[address] ?? 0) / Double(iterations)
            let exact = frequency == 0 || frequency == 1
            if exact ? observed != frequency : abs(observed - frequency) > tolerance {
                problems.append("\(address): expected \(frequency), observed \(observed)")
            }
        }
        return problems.isEmpty ? .passed : .failed(problems.joined(separator: "; "))
    }
}
