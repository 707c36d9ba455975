import ArgumentParser
import Foundation
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
            three-member replica set on loopback in this process and monitors that.
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
            text = "mongodb://\(sim.addresses[0])/?replicaSet=rs0"
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
        for warning in connectionString.warnings + OptionSupport.warnings(for: connectionString) {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
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

    func print(_ event: MonitoringEvent, at happenedNS: UInt64) {
        if changesOnly, !Self.isChange(event) { return }
        let t = Double(happenedNS &- start) / 1e9
        var now = timeval()
        gettimeofday(&now, nil)
        // Wall time of the event: now, less how long its delivery took.
        let lagSeconds = Double(MonotonicClock.nanoseconds() &- happenedNS) / 1e9
        let wall = Double(now.tv_sec) + Double(now.tv_usec) / 1e6 - lagSeconds
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
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
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
