import ArgumentParser
import Foundation
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
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

    @Option(name: .customLong("tls-certificate-key-file"),
            help: "Speak TLS on every port with this PEM file's certificate and key (MongoDB's layout: certificate, then key).")
    var tlsCertificateKeyFile: String?

    @Option(name: .customLong("tls-ca-file"),
            help: "With --tls-certificate-key-file: ask clients for certificates and verify them against this CA (for MONGODB-X509).")
    var tlsCAFile: String?

    @Flag(name: .customLong("tls-generate"),
          help: "Speak TLS with certificates made now by the openssl command; prints where the CA and the client certificate are (deleted on exit).")
    var tlsGenerate = false

    @Flag(name: .customLong("no-warm-up"),
          help: "Say `ready` without first answering a handshake of its own to the first servers (which spares the first client the simulator's first-use costs; skipped with TLS).")
    var noWarmUp = false

    @Option(name: .customLong("user"),
            help: "A SCRAM user as NAME:PASSWORD on admin (repeatable); with any user, commands need authentication.")
    var users: [String] = []

    @Option(name: .customLong("x509-user"),
            help: "An X.509 user on $external, named by its certificate subject (RFC 2253), e.g. CN=client,OU=drivers,O=sdam-tests (repeatable).")
    var x509Users: [String] = []

    /// The users given on the command line.
    private func simulatedUsers() throws -> [SimulatedUser] {
        let scram = try users.map { spec -> SimulatedUser in
            guard let colon = spec.firstIndex(of: ":"), colon != spec.startIndex else {
                throw ValidationError("--user takes NAME:PASSWORD")
            }
            return .scram(String(spec[..<colon]), password: String(spec[spec.index(after: colon)...]))
        }
        return scram + x509Users.map { .x509(subject: $0) }
    }

    func validate() throws {
        if replicaSet != nil, mongos != nil {
            throw ValidationError("choose --replica-set or --mongos, not both")
        }
        if tlsGenerate, tlsCertificateKeyFile != nil {
            throw ValidationError("choose --tls-generate or --tls-certificate-key-file, not both")
        }
        if tlsCAFile != nil, tlsCertificateKeyFile == nil {
            throw ValidationError("--tls-ca-file needs --tls-certificate-key-file")
        }
    }

    /// The TLS configuration asked for, and generated certificates to delete at exit.
    private func tlsConfiguration() throws -> (TLSConfiguration?, GeneratedCertificates?) {
        if tlsGenerate {
            let certificates = try GeneratedCertificates.generate()
            printLine("tls ca=\(certificates.caFile) client=\(certificates.clientFile)")
            return (TLSConfiguration(caFile: certificates.caFile, certificateKeyFile: certificates.serverFile,
                                     requestClientCertificate: true), certificates)
        }
        guard let tlsCertificateKeyFile else { return (nil, nil) }
        return (TLSConfiguration(caFile: tlsCAFile, certificateKeyFile: tlsCertificateKeyFile,
                                 requestClientCertificate: tlsCAFile != nil), nil)
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
        let generated: GeneratedCertificates?
        let tls: TLSConfiguration?
        do {
            (tls, generated) = try tlsConfiguration()
            simulator = try MongoSimulator(
                SimulatorConfiguration(kind: kind, portBase: portBase, electionDelayMS: electionDelayMS,
                                       topologyVersion: topologyVersion, tls: tls, users: try simulatedUsers()))
        } catch {
            printLine("error \(error)")
            throw ExitCode(1)
        }
        defer {
            simulator.stop()
            generated?.remove()
        }
        if !noWarmUp, tls == nil {
            for failure in SimulatorWarmUp.run(addresses: simulator.addresses) { printLine("warning warm-up: \(failure)") }
        }
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
