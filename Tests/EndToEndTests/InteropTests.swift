import MongoClientPool
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
import Testing
import TestSupport

/// Interop with peers we did not write, on loopback: PyMongo against our simulated replica set,
/// and our pool against MockupDB servers. The peers are Python scripts in Tests/Interop, run
/// under the virtual environment `scripts/interop-setup.sh` installs them into; without it
/// these tests fail with a message naming that script.
///
/// Serialized: each holds a subprocess and a deployment for seconds, and they are timed.
@Suite(.serialized) struct InteropTests {
    typealias D = Deployment

    @Test func pymongoDiscoversTheSimulatedSetFromOneSeedAndFollowsAStepdown() throws {
        let sim = try D.replicaSet(members: 3, electionDelayMS: 100, thread: "interop-sim")
        defer { sim.stop() }
        let oldPrimary = try #require(try sim.replicaSetState()?.primary)
        // A secondary as the only seed: PyMongo must discover the rest from its hello.
        let seed = try #require(sim.addresses.first { $0 != oldPrimary })
        let peer = try InteropPeer(
            script: "pymongo_follow_stepdown.py", arguments: [seed, sim.addresses.joined(separator: ",")], timeLimit: 60)
        defer { peer.stop() }

        let ready = try peer.readLine(within: 20)
        #expect(ready == "ready \(oldPrimary)", "\(peer.diagnostics)")
        let steppedDown = MonotonicClock.nanoseconds()
        try sim.stepDown()
        try peer.write("go\n")
        let line = try peer.readLine(within: 40)
        let observedMS = D.elapsedMS(since: steppedDown)
        let result = try InteropResult(line, from: peer)
        let newPrimary = try sim.replicaSetState()?.primary
        #expect(try peer.waitForExit(within: 10) == .exited(0), "\(peer.diagnostics)")

        #expect(result.string("old") == oldPrimary)
        #expect(result.string("new") == newPrimary)
        #expect(newPrimary != oldPrimary)
        let ms = try #require(result.number("ms"))
        let attempts = Int(result.number("attempts") ?? -1)
        print("figure: PyMongo discovered the 3-member set from one secondary in \(result.number("discoveryMS") ?? -1) ms; stepdown to a successful write: \(ms) ms after `go` (\(observedMS) ms from stepDown() to its report, 100 ms election), \(attempts) insert attempt(s), errors \(result.value["errors"] ?? [])")
        // The election takes 100 ms; PyMongo's retryable write waits for it, well inside its
        // 5 s serverSelectionTimeoutMS.
        #expect(ms < 5_000)
    }

    @Test func ourPoolDiscoversAndUsesAMockupDBStandalone() throws {
        let peer = try InteropPeer(script: "mockupdb_server.py", timeLimit: 30)
        defer { peer.stop() }
        let port = try #require(try InteropResult.ports(peer.readLine(within: 20)).first)
        let address = "127.0.0.1:\(port)"

        let pool = try ClientPool(uri: "mongodb://\(address)/?directConnection=true&serverSelectionTimeoutMS=5000&socketTimeoutMS=5000")
        defer { pool.close() }
        let (ping, insert) = try peer.explaining {
            let client = try pool.pop()
            defer { pool.push(client) }
            let ping = try client.runCommand(["ping": .int32(1)], database: "admin")
            let insert = try client.runWriteCommand(
                ["insert": .string("things"), "documents": .array([.document(["x": .int32(1)]), .document(["x": .int32(2)])])],
                database: "interop")
            return (ping, insert)
        }
        let server = pool.topology.description.servers[D.address(address)]
        pool.close()

        #expect(ping["ok"]?.isTruthy == true)
        #expect(insert["ok"]?.isTruthy == true)
        #expect(insert["n"]?.int64Value == 2)
        #expect(server?.type == .standalone)
        #expect(server?.maxWireVersion == 21)

        let received = try InteropResult.received(peer: peer)
        #expect(try peer.waitForExit(within: 10) == .exited(0), "\(peer.diagnostics)")
        // What MockupDB saw: the handshakes (legacy isMaster over OP_MSG on admin, as the
        // handshake spec now requires of every handshake, with helloOk, backpressure and client
        // metadata, on the monitor's connection and the client's), and our two commands over
        // OP_MSG with their $db.
        let handshakes = received.filter { $0.name == "isMaster" }
        #expect(handshakes.count >= 2, "\(received)")
        #expect(handshakes.allSatisfy {
            $0.opcode == "OpMsg" && $0.db == "admin" && $0.keys.contains("helloOk") && $0.keys.contains("client")
                && $0.backpressure == "2"
        }, "\(received)")
        #expect(!received.contains { $0.opcode != "OpMsg" }, "no OP_QUERY at all: \(received)")
        let commands = received.filter { !["hello", "ismaster"].contains($0.name.lowercased()) }
        #expect(commands.map(\.name) == ["ping", "insert"], "\(received)")
        #expect(commands.map(\.db) == ["admin", "interop"])
        #expect(commands.allSatisfy { $0.opcode == "OpMsg" && $0.keys.contains("$db") })
    }

    @Test func ourPoolDiscoversAMockupDBReplicaSetFromItsSecondaryAndWritesToThePrimary() throws {
        let peer = try InteropPeer(script: "mockupdb_server.py", arguments: ["--replica-set", "rs0", "--members", "2"], timeLimit: 30)
        defer { peer.stop() }
        let ports = try InteropResult.ports(peer.readLine(within: 20))
        try #require(ports.count == 2)
        let (primary, secondary) = ("127.0.0.1:\(ports[0])", "127.0.0.1:\(ports[1])")

        let pool = try ClientPool(uri: "mongodb://\(secondary)/?replicaSet=rs0&serverSelectionTimeoutMS=5000&socketTimeoutMS=5000")
        defer { pool.close() }
        let insert = try peer.explaining {
            let client = try pool.pop()
            defer { pool.push(client) }
            return try client.runWriteCommand(
                ["insert": .string("things"), "documents": .array([.document(["x": .int32(1)])])], database: "interop")
        }
        let topology = pool.topology.description
        pool.close()

        #expect(insert["n"]?.int64Value == 1)
        #expect(topology.type == .replicaSetWithPrimary)
        #expect(topology.servers[D.address(primary)]?.type == .rsPrimary)
        let received = try InteropResult.received(peer: peer)
        #expect(try peer.waitForExit(within: 10) == .exited(0), "\(peer.diagnostics)")
        let inserts = received.filter { $0.name == "insert" }
        #expect(inserts.map(\.port) == [ports[0]], "the write went to the primary only: \(received)")
        #expect(received.contains { $0.port == ports[1] }, "the seed was checked")
    }

    @Test func aPeerThatOutlivesItsTimeLimitIsKilledAndLeavesNothingBehind() throws {
        // mockupdb_server.py runs until its stdin closes, which this test never does.
        let peer = try InteropPeer(script: "mockupdb_server.py", timeLimit: 2)
        defer { peer.stop() }
        _ = try InteropResult.ports(peer.readLine(within: 20))
        let start = MonotonicClock.nanoseconds()
        #expect(throws: InteropPeerError.self) { try peer.readLine(within: 20) }
        let status = try peer.waitForExit(within: 5)
        let seconds = D.elapsedMS(since: start) / 1_000
        #expect(status == .signalled(SIGKILL))
        #expect(seconds < 3, "the watchdog took \(seconds) s")
        peer.stop()
        #expect(kill(peer.processIdentifier, 0) == -1 && errno == ESRCH, "the script's process is gone")
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: "interop-peer") }, to: 0) == 0)
        #expect(peer.openDescriptors == 0)
    }
}

/// A JSON line a peer printed, and the `port` and `received` lines of mockupdb_server.py.
struct InteropResult {
    let value: [String: Any]

    init(_ line: String, from peer: InteropPeer) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw InteropPeerError(description: "expected one JSON object, read \(line)\(peer.diagnostics)")
        }
        value = object
    }

    func string(_ key: String) -> String? { value[key] as? String }
    func number(_ key: String) -> Double? { (value[key] as? NSNumber)?.doubleValue }

    /// The ports of `port P1 [P2 ...]`.
    static func ports(_ line: String) throws -> [Int] {
        let words = line.split(separator: " ")
        let ports = words.dropFirst().compactMap { Int($0) }
        guard words.first == "port", !ports.isEmpty, ports.count == words.count - 1 else {
            throw InteropPeerError(description: "expected `port P1 [P2 ...]`, read \(line)")
        }
        return ports
    }

    /// One request as MockupDB saw it.
    struct Request: CustomStringConvertible {
        var port: Int
        var opcode: String
        var name: String
        var db: String
        var keys: [String]
        /// The request's `backpressure` field, when it is a string.
        var backpressure: String?
        var description: String { "\(port) \(opcode) \(name) $db=\(db) \(keys)" }
    }

    /// Closes the script's stdin and reads its `received JSON` line.
    static func received(peer: InteropPeer) throws -> [Request] {
        peer.closeInput()
        let line = try peer.readLine(within: 15)
        guard line.hasPrefix("received "),
              let list = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(9).utf8)) as? [[String: Any]]
        else {
            throw InteropPeerError(description: "expected `received JSON`, read \(line)\(peer.diagnostics)")
        }
        return list.map { entry in
            Request(
                port: (entry["port"] as? NSNumber)?.intValue ?? -1,
                opcode: entry["opcode"] as? String ?? "",
                name: entry["name"] as? String ?? "",
                db: entry["db"] as? String ?? "",
                keys: entry["keys"] as? [String] ?? [],
                backpressure: entry["backpressure"] as? String)
        }
    }
}
