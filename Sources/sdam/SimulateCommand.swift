import ArgumentParser
import Foundation
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// `sdam simulate`: runs a simulated deployment on 127.0.0.1 and obeys control lines on stdin.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a simulated MongoDB deployment on 127.0.0.1, controlled from stdin.",
        discussion: """
            Prints `ready <addresses>` once every server listens, then reads one command per \
            line and answers each with one line, `ok ...` or `error ...`: \
            \(ControlCommand.usage). End of input quits.

            `hostile HOST:PORT KIND [ARG]` makes one server misbehave until `revive` (or \
            `normal`); KIND is \(HostileBehaviour.usage). Wire-level kinds spoil every reply: \
            garbage (random bytes that are no frame), truncate (half a reply, then close), \
            oversize (messageLength 1 GiB), responseto (answers the wrong requestID), trickle \
            (one byte every ARG ms, default 100), reset (half a reply, then a TCP reset). Hello \
            kinds spoil hello replies only: hellofail (ok: 0), manyhosts (ARG hosts, default \
            10000), invalidhosts, duplicatehosts, uppercase (hosts, primary and me in upper \
            case, 127.0.0.1 as LOCALHOST), setname (ARG, default hostileSet). impatient answers \
            awaitable hellos at once; badhandshake makes handshake replies unreadable BSON. \
            `hang` accepts and never answers; `kill` refuses connections.

            `failpoint HOST:PORT JSON` runs a configureFailPoint command on one server, as \
            a test would against a real one, e.g. `failpoint 127.0.0.1:27017 {"mode": \
            {"times": 1}, "data": {"failCommands": ["insert"], "errorCode": 91}}` \
            (configureFailPoint: "failCommand" may be left out); `failpoint HOST:PORT off` \
            clears it.
            """
    )

    @Option(name: .customLong("replica-set"), help: "Simulate a replica set with this name.")
    var replicaSet: String?

    @Option(help: "Members of the replica set.")
    var members: Int = 3

    @Option(help: "Simulate this many mongos routers.")
    var mongos: Int?

    @Option(name: .customLong("port-base"), help: "First port; servers take consecutive ports (0: the kernel chooses).")
    var portBase: UInt16 = 0

    @Option(name: .customLong("election-delay-ms"), help: "Delay before a new primary is elected.")
    var electionDelayMS: Int = 0

    @Flag(name: .customLong("topology-version"),
          help: "Behave like MongoDB 4.4+: report topologyVersion and hold awaitable hellos (streaming monitoring); without it, like 4.2 (clients poll).")
    var topologyVersion = false

    func validate() throws {
        if replicaSet != nil, mongos != nil {
            throw ValidationError("choose --replica-set or --mongos, not both")
        }
    }

    func run() throws {
        let kind: SimulatorConfiguration.Kind
        if let replicaSet {
            kind = .replicaSet(name: replicaSet, members: members)
        } else if let mongos {
            kind = .mongos(count: mongos)
        } else {
            kind = .standalone
        }
        OpenFileLimit.raiseToHardLimit()
        let simulator: MongoSimulator
        do {
            simulator = try MongoSimulator(
                SimulatorConfiguration(kind: kind, portBase: portBase, electionDelayMS: electionDelayMS,
                                       topologyVersion: topologyVersion))
        } catch {
            printLine("error \(error)")
            throw ExitCode(1)
        }
        defer { simulator.stop() }
        let console = ControlConsole(simulator: simulator)
        printLine(console.readyLine)
        while let line = readLine() {
            if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
            let (answer, quit) = console.respond(to: line)
            printLine(answer)
            if quit { return }
        }
    }

    /// Prints and flushes: a controlling process reads line by line through a pipe.
    private func printLine(_ line: String) {
        print(line)
        fflush(nil)
    }
}
