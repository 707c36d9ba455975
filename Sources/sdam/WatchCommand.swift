import ArgumentParser
import Foundation
import Logging
import MongoClientPool
import Synchronization
import MongoSimulator
import MongoBSON
import SDAMCore
import MongoWire
import MongoTLS
@_spi(LoopPrimitives) import PoolMonitor

/// `sdam watch [URI]`: monitors a deployment and prints one line per event.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Monitor a deployment and print one line per SDAM or heartbeat event.",
        discussion: """
            With --json every line is a JSON object with `t` (seconds since the tool started, \
            monotonic clock), `wall` (Unix time, microseconds) and `event` (the spec's event name \
            in camelCase), plus the event's fields. Without a URI it starts a simulated \
            three-member replica set on loopback in this process and monitors that. \
            With --single-threaded it uses a SingleThreadedClient instead of a pool: no monitor \
            thread; every --interval seconds it runs a ping (read preference nearest), which \
            scans when a scan is due, and prints each scan (`scan` events: why, each server \
            checked, how long it took) with the events it caused.
            """
    )

    @Argument(help: "A mongodb:// connection string (default: a simulated three-member replica set).")
    var uri: String?

    @Flag(name: .long, help: "Print one JSON object per line.")
    var json = false

    @Option(name: .long, help: "Stop after this many seconds (exit status 0).")
    var duration: Double?

    @Flag(name: .long, help: """
        Print changes only: no heartbeats and no per-connection pool events, and each \
        topologyDescriptionChanged lists only the servers that changed (`changedServers`, \
        `removedServers`) instead of every server.
        """)
    var changes = false

    @Flag(name: .long, help: "Use a SingleThreadedClient (scans on this thread, before operations) instead of a pool's monitor thread.")
    var singleThreaded = false

    @Option(name: .long, help: "With --single-threaded: seconds between two operations (default 0.5).")
    var interval: Double = 0.5

    func run() throws {
        let start = MonotonicClock.nanoseconds()
        var simulator: MongoSimulator?
        let text: String
        if let uri {
            text = uri
        } else {
            let sim = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3), topologyVersion: true))
            simulator = sim
            // One seed, as an application would configure it: the rest is discovered.
            // A single-threaded client scans every heartbeatFrequencyMS (60 s by default): a
            // second here, so that the scans show.
            text = "mongodb://\(sim.addresses[0])/?replicaSet=rs0" + (singleThreaded ? "&heartbeatFrequencyMS=1000" : "")
            FileHandle.standardError.write(Data("simulated replica set rs0 at \(sim.addresses.joined(separator: ",")); monitoring \(text)\n".utf8))
        }
        defer { simulator?.stop() }
        let connectionString: ConnectionString
        do {
            connectionString = try ConnectionString(text)
        } catch {
            throw ValidationError("\(error)")
        }
        if let refusal = OptionSupport.refusal(for: connectionString) {
            throw ValidationError(refusal)
        }
        for warning in connectionString.warnings + OptionSupport.warnings(for: connectionString, client: singleThreaded ? .singleThreaded : .pooled) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        if singleThreaded {
            try watchSingleThreaded(uri: text, start: start)
            return
        }
        let clientSettings = try ClientSettings(connectionString: connectionString)
        let settings = clientSettings.topology
        var options = clientSettings.monitoring
        if options.appName == nil { options.appName = "sdam watch" }
        let printer = EventPrinter(start: start, json: json, changesOnly: changes)
        let events = EventPublisher()
        events.addTimedHandler { printer.print($0, at: $1) }
        let monitor = try TopologyMonitor(settings: settings, options: options, events: events,
                                          tls: TLSContext.client(for: clientSettings.tls))
        let stop = WatchStop()
        stop.installSignalHandlers()
        stop.wait(seconds: duration)
        monitor.close()
        events.flush()
    }
}

extension WatchCommand {
    /// `--single-threaded`: a ping every `interval` on this thread; each operation's scan and
    /// events are printed when it ends (where a single-threaded client delivers them).
    func watchSingleThreaded(uri: String, start: UInt64) throws {
        let printer = EventPrinter(start: start, json: json, changesOnly: changes)
        let events = EventPublisher(delivery: .onDeliverPending)
        events.addTimedHandler { printer.print($0, at: $1) }
        let client: SingleThreadedClient
        do {
            client = try SingleThreadedClient(uri: uri, logger: Logger(label: "sdam.watch"), events: events)
        } catch {
            throw ValidationError("\(error)")
        }
        client.addScanHandler { printer.print(scan: $0) }
        SingleThreadedStop.install()
        let end = duration.map { start + UInt64($0 * 1e9) }
        while !SingleThreadedStop.requested {
            do {
                _ = try client.runCommand(["ping": 1], database: "admin", readPreference: .nearest)
            } catch {
                FileHandle.standardError.write(Data("ping failed: \(error)\n".utf8))
            }
            let now = MonotonicClock.nanoseconds()
            if let end, now >= end { break }
            let pause = min(interval, end.map { Double($0 - now) / 1e9 } ?? interval)
            usleep(UInt32(max(0, pause) * 1e6))
        }
        client.close()
    }
}

/// SIGINT and SIGTERM for `--single-threaded`, without Dispatch (whose signal sources would
/// start a thread in a process that should have none).
enum SingleThreadedStop {
    static let flag = Atomic<Bool>(false)
    static var requested: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in SingleThreadedStop.flag.store(true, ordering: .relaxed) }
        }
    }
}

/// Writes events to standard output as they are delivered (on the publisher's thread).
struct EventPrinter: Sendable {
    let start: UInt64
    let json: Bool
    /// `--changes`: only what changed the topology or a pool's state is printed.
    var changesOnly = false

    /// Whether `--changes` keeps the event: topology and server changes and pool state
    /// changes, not heartbeats or the life of single connections.
    static func isChange(_ event: MonitoringEvent) -> Bool {
        switch event {
        case .sdam: true
        case .srv(let srv):
            if case .lookupStarted = srv { false } else { true }
        case .serverHeartbeatStarted, .serverHeartbeatSucceeded, .serverHeartbeatFailed: false
        case .pool(let pool):
            switch pool {
            case .poolCreated, .poolReady, .poolCleared, .poolClosed: true
            default: false
            }
        }
    }

    /// The event's fields; with `--changes`, a topology change lists only the servers that
    /// changed, so a large deployment costs a line per change rather than per server.
    func fields(of event: MonitoringEvent) -> [(String, JSONValue)] {
        guard changesOnly, case .sdam(.topologyDescriptionChanged(let previous, let new)) = event else { return event.jsonFields }
        let (changed, removed) = new.servers.changes(since: previous.servers)
        let servers = changed.map { server -> JSONValue in
            .object([
                ("address", .string(server.address.description)),
                ("type", .string(server.type.rawValue)),
                ("rttMS", server.roundTripTimeMS.map { .number(MonitoringEvent.format($0)) } ?? .null),
            ])
        }
        return [
            ("previousType", .string(previous.type.rawValue)),
            ("newType", .string(new.type.rawValue)),
            ("changedServers", .array(servers)),
            ("removedServers", .array(removed.map { .string($0.description) })),
        ]
    }

    /// A single-threaded client's scan report, as a `scan` event at the time the scan ended.
    func print(scan: ScanReport) {
        let endedNS = scan.startedNS + UInt64(scan.durationMS * 1e6)
        let (t, wall) = times(of: endedNS)
        if json {
            let checks = scan.checks.map { check -> JSONValue in
                .object([
                    ("address", .string(check.address.description)), ("type", .string(check.type.rawValue)),
                    ("durationMS", .number(MonitoringEvent.format(check.durationMS))), ("joined", .bool(check.joined)),
                    ("error", check.error.map { .string($0) } ?? .null),
                ])
            }
            write(JSONWriter.write(.object([
                ("t", .number(String(format: "%.6f", t))), ("wall", .number(String(format: "%.6f", wall))),
                ("event", .string("scan")), ("number", .number("\(scan.number)")), ("reason", .string(scan.reason.rawValue)),
                ("durationMS", .number(MonitoringEvent.format(scan.durationMS))), ("topologyType", .string(scan.topologyType.rawValue)),
                ("checked", .array(checks)), ("coolingDown", .array(scan.coolingDown.map { .string($0.description) })),
            ])))
        } else {
            write(String(format: "%9.3f ", t) + scan.summary)
        }
    }

    /// Seconds since the tool started, and the wall time, of an instant (now, less how long
    /// its delivery took).
    private func times(of happenedNS: UInt64) -> (t: Double, wall: Double) {
        var now = timeval()
        gettimeofday(&now, nil)
        let lagSeconds = Double(MonotonicClock.nanoseconds() &- happenedNS) / 1e9
        return (Double(happenedNS &- start) / 1e9, Double(now.tv_sec) + Double(now.tv_usec) / 1e6 - lagSeconds)
    }

    private func write(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    func print(_ event: MonitoringEvent, at happenedNS: UInt64) {
        if changesOnly, !Self.isChange(event) { return }
        let (t, wall) = times(of: happenedNS)
        let line: String
        if json {
            var fields: [(String, JSONValue)] = [
                ("t", .number(String(format: "%.6f", t))),
                ("wall", .number(String(format: "%.6f", wall))),
                ("event", .string(event.name)),
            ]
            fields += self.fields(of: event)
            line = JSONWriter.write(.object(fields))
        } else if changesOnly, case .sdam(.topologyDescriptionChanged(let previous, let new)) = event {
            let (changed, removed) = new.servers.changes(since: previous.servers)
            let list = changed.map { "\($0.address) \($0.type.rawValue)" } + removed.map { "\($0) removed" }
            line = String(format: "%9.3f ", t) + "topologyDescriptionChanged \(previous.type.rawValue) -> \(new.type.rawValue) "
                + "[" + list.joined(separator: ", ") + "]"
        } else {
            line = String(format: "%9.3f ", t) + event.humanLine
        }
        write(line)
    }
}

/// Ends `watch` after `--duration`, or on SIGINT/SIGTERM. Used on the main thread only.
final class WatchStop {
    private let done = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [done] in done.signal() }
            source.resume()
            sources.append(source)
        }
    }

    func wait(seconds: Double?) {
        if let seconds {
            _ = done.wait(timeout: .now() + seconds)
        } else {
            done.wait()
        }
    }
}
