import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// Seeded random topologies and operations: whatever comes out must obey the invariants of
/// the specification.
@Suite struct ServerSelectionPropertyTests {
    typealias F = SelectionFixtures

    static let tagPool: [[String: String]] = [[:], ["dc": "ny"], ["dc": "sf"], ["dc": "ny", "rack": "1"], ["rack": "1"]]

    struct Case {
        var topology: TopologyDescription
        var operation: ServerSelectionOperation
        var deprioritized: Set<ServerAddress>
    }

    static func randomCase(_ g: inout SplitMix64) -> Case {
        let type = TopologyType.allCases.randomElement(using: &g) ?? .unknown
        var servers: [ServerDescription] = []
        for i in 0..<Int.random(in: 0...8, using: &g) {
            var server = F.server(
                "h\(i):27017",
                ServerType.allCases.randomElement(using: &g) ?? .unknown,
                rtt: Bool.random(using: &g) && i == 0 ? nil : Double(Int.random(in: 0...60, using: &g)),
                tags: tagPool.randomElement(using: &g) ?? [:],
                lastUpdate: Int64.random(in: 0...1_000_000, using: &g),
                lastWrite: Int64.random(in: 0...1_000_000, using: &g)
            )
            if Int.random(in: 0..<10, using: &g) == 0 { server.lastWriteDateMS = nil }
            servers.append(server)
        }
        let topology = F.topology(type, servers)
        let operation: ServerSelectionOperation
        if Int.random(in: 0..<4, using: &g) == 0 {
            operation = .write
        } else {
            let mode = ReadPreference.Mode.allCases.randomElement(using: &g) ?? .primary
            let tagSets = mode == .primary ? [] : (0..<Int.random(in: 0...3, using: &g)).map { _ in tagPool.randomElement(using: &g) ?? [:] }
            let maxStaleness = mode == .primary || Bool.random(using: &g) ? nil : Int.random(in: 90...1200, using: &g)
            operation = .read(ReadPreference(mode: mode, tagSets: tagSets, maxStalenessSeconds: maxStaleness))
        }
        let deprioritized = Set(servers.filter { _ in Int.random(in: 0..<4, using: &g) == 0 }.map(\.address))
        return Case(topology: topology, operation: operation, deprioritized: deprioritized)
    }

    @Test func selectionInvariantsHoldForRandomTopologies() throws {
        var g = SplitMix64(seed: 20_240_601)
        let selector = ServerSelector()
        for _ in 0..<2000 {
            let c = Self.randomCase(&g)
            let result = try selector.suitableServers(for: c.operation, in: c.topology, deprioritized: c.deprioritized)
            let suitable = Set(result.suitable.map(\.address))
            let window = Set(result.inLatencyWindow.map(\.address))

            #expect(window.isSubset(of: suitable))
            #expect(suitable.isSubset(of: Set(c.topology.servers.keys)))
            #expect(result.suitable.allSatisfy { $0.isAvailable })
            #expect(suitable.isEmpty == window.isEmpty)
            if let fastest = result.suitable.compactMap(\.roundTripTimeMS).min() {
                #expect(result.inLatencyWindow.allSatisfy { ($0.roundTripTimeMS ?? fastest) <= fastest + 15 })
                let left = result.suitable.filter { !window.contains($0.address) }
                #expect(left.allSatisfy { ($0.roundTripTimeMS ?? 0) > fastest + 15 })
            }
            // All from the preferred servers, or (fallback) all from the deprioritized ones.
            #expect(suitable.isDisjoint(with: c.deprioritized) || suitable.isSubset(of: c.deprioritized))

            let types = Set(result.suitable.map(\.type))
            switch c.topology.type {
            case .unknown: #expect(suitable.isEmpty)
            case .sharded: #expect(types.isSubset(of: [.mongos]))
            case .loadBalanced: #expect(types.isSubset(of: [.loadBalancer]))
            case .single: break
            case .replicaSetWithPrimary, .replicaSetNoPrimary:
                switch c.operation {
                case .write:
                    #expect(types.isSubset(of: [.rsPrimary]), "writes never go to secondaries")
                case .read(let readPreference):
                    #expect(types.isSubset(of: [.rsPrimary, .rsSecondary]))
                    if readPreference.mode == .primary { #expect(types.isSubset(of: [.rsPrimary])) }
                    if readPreference.mode == .secondary { #expect(types.isSubset(of: [.rsSecondary])) }
                    if let maxStaleness = readPreference.maxStalenessSeconds {
                        let estimator = StalenessEstimator(topology: c.topology, heartbeatFrequencyMS: selector.heartbeatFrequencyMS)
                        for server in result.suitable where server.type == .rsSecondary {
                            #expect((estimator.stalenessMS(of: server) ?? .infinity) <= Double(maxStaleness) * 1000)
                        }
                    }
                    if !readPreference.tagSets.isEmpty {
                        for server in result.suitable where server.type == .rsSecondary {
                            #expect(readPreference.tagSets.contains { TagSets.server(server, matches: $0) })
                        }
                    }
                }
            }

            let chosen = try selector.select(
                for: c.operation, in: c.topology, deprioritized: c.deprioritized,
                operationCount: { $0.port == 27017 ? Int($0.host.utf8.count) : 0 }, using: &g
            )
            if let chosen { #expect(window.contains(chosen.address)) } else { #expect(window.isEmpty) }
        }
    }

    @Test func nearestWithTagSetsOverManyMembersStaysFast() throws {
        // 5000 members and 4 tag sets: a quadratic pass would be ~25 million comparisons per
        // tag set; the linear one finishes well inside the time limit.
        var servers: [ServerDescription] = []
        for i in 0..<5000 {
            servers.append(F.server("m\(i):27017", i == 0 ? .rsPrimary : .rsSecondary, rtt: Double(i % 40), tags: ["dc": i % 7 == 0 ? "ny" : "sf"], lastWrite: 1000))
        }
        let topology = F.topology(.replicaSetWithPrimary, servers)
        let readPreference = ReadPreference(mode: .nearest, tagSets: [["dc": "tokyo"], ["dc": "lon"], ["dc": "ny"], [:]], maxStalenessSeconds: 120)
        let result = try ServerSelector().suitableServers(for: .read(readPreference), in: topology)
        #expect(result.suitable.count == 715)
        #expect(result.inLatencyWindow.allSatisfy { ($0.roundTripTimeMS ?? 0) <= 15 })
    }
}
