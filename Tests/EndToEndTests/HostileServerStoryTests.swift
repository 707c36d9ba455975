import MongoClientPool
import Foundation
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// Hostile servers (issue 6): for each way a server can misbehave on the wire, only that server
/// becomes Unknown, with an error that names it and says what was wrong; the healthy servers'
/// checks stay on schedule and pooled clients keep working against them.
@Suite(.serialized) struct HostileServerStoryTests {
    typealias D = Deployment

    static let wireLevel: [(HostileBehaviour, String)] = [
        (.garbage, "messageLength"),
        (.truncatedReply, "closed the connection"),
        (.oversizedLength, "exceeds"),
        (.wrongResponseTo, "responseTo"),
        (.trickle(byteIntervalMS: 100), "connectTimeoutMS"),
        (.resetMidReply, "reset"),
        (.helloFailure, "hello failed"),
    ]

    @Test(arguments: wireLevel)
    func onlyTheHostileMongosBecomesUnknown(_ behaviour: HostileBehaviour, _ expectedWords: String) throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .mongos(count: 3), threadName: "e2e-hostile"))
        defer { sim.stop() }
        let addresses = sim.addresses
        let pool = try ClientPool(uri: "mongodb://\(addresses.joined(separator: ","))/?heartbeatFrequencyMS=500&connectTimeoutMS=400&serverMonitoringMode=poll&serverSelectionTimeoutMS=3000")
        defer { pool.close() }
        let hostile = D.address(addresses[0])
        #expect(D.waitFor(pool.topology) { t in t.servers.values.allSatisfy { $0.type == .mongos } } != nil)
        try sim.makeHostile(addresses[0], behaviour)
        let marked = D.waitFor(pool.topology, seconds: 5) { $0.servers[hostile]?.error != nil }
        let error = marked?.servers[hostile]?.error ?? "(none)"
        #expect(marked?.servers[hostile]?.type == .unknown)
        #expect(error.contains(hostile.description), "the error must name the server: \(error)")
        #expect(error.lowercased().contains(expectedWords.lowercased()), "the error must say what was wrong: \(error)")
        // The others keep their rhythm and keep serving.
        let healthy = addresses.dropFirst()
        let before = healthy.map { sim.statistics(for: $0)?.hellosReceived ?? 0 }
        let client = try pool.pop()
        defer { pool.push(client) }
        for _ in 0..<10 {
            let reply = try client.runCommand(["ping": .int32(1)], database: "admin", readPreference: .nearest)
            #expect(reply["ok"]?.isTruthy == true)
        }
        Thread.sleep(forTimeInterval: 1.6)
        for (i, address) in healthy.enumerated() {
            let checks = (sim.statistics(for: address)?.hellosReceived ?? 0) - before[i]
            #expect(checks >= 2, "\(address) was checked \(checks) times in 1.6 s at a 500 ms heartbeat next to a hostile server")
            #expect(pool.topology.description.servers[D.address(address)]?.type == .mongos)
        }
    }

    @Test func hostileHelloContentsOnASecondaryLeaveTheSetServing() throws {
        let behaviours: [HostileBehaviour] = [
            .manyHosts(count: 10_000), .invalidHosts, .duplicateHosts, .upperCaseHosts, .changedSetName("other"),
        ]
        for behaviour in behaviours {
            let sim = try D.replicaSet(members: 3, thread: "e2e-hostile-rs")
            defer { sim.stop() }
            let pool = try ClientPool(uri: "mongodb://\(sim.addresses[0])/?replicaSet=rs0&heartbeatFrequencyMS=500&serverMonitoringMode=poll&serverSelectionTimeoutMS=3000")
            defer { pool.close() }
            let ready = D.waitFor(pool.topology, D.settled)
            let primary = try #require(ready.flatMap(D.primary(of:)))
            let secondary = try #require(sim.addresses.first { $0 != primary.description })
            try sim.makeHostile(secondary, behaviour)
            Thread.sleep(forTimeInterval: 1.2)  // two heartbeats: the hostile hello has been applied
            let now = pool.topology.description
            #expect(D.primary(of: now) == primary, "\(behaviour): the primary is still known")
            #expect(now.servers.count < 10, "\(behaviour): a secondary's host list never adds members while a primary is known")
            let client = try pool.pop()
            let reply = try client.runWriteCommand(["insert": .string("c"), "documents": .array([.document(["x": .int32(1)])])], database: "test")
            pool.push(client)
            #expect(reply["ok"]?.isTruthy == true, "\(behaviour): writes still work")
            if case .changedSetName = behaviour {
                #expect(now.servers[D.address(secondary)] == nil, "a member reporting another set name is removed")
            }
        }
    }
}
