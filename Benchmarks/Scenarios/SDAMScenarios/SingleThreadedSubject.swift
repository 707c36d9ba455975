import MongoClientPool
import Foundation
import MongoBSON
import SDAMCore
@_spi(LoopPrimitives) import PoolMonitor

/// The single-threaded scenarios, run by this driver's `SingleThreadedClient` against a
/// deployment the harness (Benchmarks/peers/single_threaded.py) started and controls. The peers
/// (peer_libmongoc_single.c, peer_perl.pl) take the same arguments and print the same keys:
///
///   st-discovery URI   the first write from a one-seed URI: its time, members known after it
///   st-scan URI        the first selection with every member in the URI (one of them hung):
///                      how long the scan took
///   st-failover URI    a write, "ready" on stdout, then on a line from stdin (the harness has
///                      stepped the primary down) writes until one succeeds
///
/// Each also reports the process's threads and open TCP connections at the end.
enum SingleThreadedSubject {
    static func run(_ scenario: String, uri: String) throws -> [(String, JSONValue)] {
        let client = try SingleThreadedClient(uri: uri)
        defer { client.close() }
        var fields: [(String, JSONValue)]
        switch scenario {
        case "st-discovery":
            let start = Subject.nowNS()
            _ = try client.runWriteCommand(Subject.insert(), database: "bench")
            fields = [("firstWriteMS", Subject.num(Subject.ms(since: start))),
                      ("membersKnown", .number("\(client.topology.description.servers.values.filter { $0.type != .unknown }.count)"))]
        case "st-scan":
            let start = Subject.nowNS()
            _ = try client.selectServer(for: .write)
            fields = [("scanMS", Subject.num(client.lastScan?.durationMS ?? Subject.ms(since: start))),
                      ("selectMS", Subject.num(Subject.ms(since: start)))]
        case "st-failover":
            _ = try client.runWriteCommand(Subject.insert(), database: "bench")
            FileHandle.standardOutput.write(Data("ready\n".utf8))
            _ = Swift.readLine()
            let start = Subject.nowNS()
            var attempts = 0
            while true {
                attempts += 1
                do {
                    _ = try client.runWriteCommand(Subject.insert(), database: "bench")
                    break
                } catch {
                    guard Subject.ms(since: start) < 20_000 else { throw Subject.Failure(description: "no write within 20 s: \(error)") }
                }
            }
            fields = [("toWriteMS", Subject.num(Subject.ms(since: start))), ("attempts", .number("\(attempts)")),
                      ("scans", .number("\(client.lastScan?.number ?? 0)"))]
        default:
            throw Subject.Failure(description: "unknown single-threaded scenario \(scenario)")
        }
        return fields + processCounts()
    }

    /// Threads of this process, and its open TCP sockets (it has no other sockets).
    static func processCounts() -> [(String, JSONValue)] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").count) ?? -1
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        let sockets = fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").hasPrefix("socket:") }
        return [("threads", .number("\(tasks)")), ("connections", .number("\(sockets.count)"))]
    }
}
