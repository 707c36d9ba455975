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
            in camelCase), plus the event's fields; a topologyDescriptionChanged lists the servers \
            that changed (`changedServers`, `removedServers`), not every server. Heartbeat events \
            that the printer could not keep up with are dropped and counted in an \
            `eventsDropped` line. Without a URI it starts a simulated \
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
        Print changes only: no heartbeats and no per-connection pool events.
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
        let events = EventPublisher(capacity: EventPrinter.queueCapacity, batchingDelaySeconds: EventPrinter.batchingDelaySeconds)
        printer.attach(to: events)
        let monitor = try TopologyMonitor(settings: settings, options: options, events: events,
                                          tls: TLSContext.client(for: clientSettings.tls))
        let stop = WatchStop()
        stop.installSignalHandlers()
        stop.wait(seconds: duration)
        monitor.close()
        events.flush()
        printer.flush()
    }
}

extension WatchCommand {
    /// `--single-threaded`: a ping every `interval` on this thread; each operation's scan and
    /// events are printed when it ends (where a single-threaded client delivers them).
    func watchSingleThreaded(uri: String, start: UInt64) throws {
        let printer = EventPrinter(start: start, json: json, changesOnly: changes)
        let events = EventPublisher(delivery: .onDeliverPending, capacity: EventPrinter.queueCapacity)
        printer.attach(to: events)
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
        printer.flush()
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

/// Writes events to standard output as they are delivered (on the publisher's thread), through
/// a buffer that is written when it fills and whenever the publisher has drained its queue.
///
/// Why it is built this way: at 1,000 mongos and 500 ms it prints some 4,000 lines a second.
/// Foundation's `String(format:)` for the times, a `FileHandle.write` (one write(2) and a
/// `Data`) per line and a wake-up of the publisher's thread per event had cost more CPU than
/// monitoring the servers. The publisher batches (`batchingDelaySeconds`) and is bounded
/// (`queueCapacity`): if the printer still falls behind (a slow pipe, a stopped terminal),
/// heartbeat events are dropped and an `eventsDropped` line says how many; other events
/// (changes of the topology, servers and pools, connection events) are never dropped.
struct EventPrinter: Sendable {
    /// At most this many events wait for the printer: some 2 s at 1,000 mongos and 500 ms,
    /// about 10 MB (a queued heartbeat holds its parsed reply, some 1.2 KB) when stdout stalls.
    static let queueCapacity = 8_192
    /// How long the publisher gathers events before it wakes the printer.
    static let batchingDelaySeconds = 0.01

    let start: UInt64
    let json: Bool
    /// `--changes`: only what changed the topology or a pool's state is printed.
    var changesOnly = false
    let output = BufferedOutput(descriptor: 1)

    /// Prints `events`' events, and flushes (and reports drops) when it has drained its queue.
    func attach(to events: EventPublisher) {
        events.addTimedHandler { print($0, at: $1) }
        events.addDrainedHandler { drained(dropped: $0) }
    }

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
            writeJSON(t: t, wall: wall, event: "scan", [
                ("number", .number("\(scan.number)")), ("reason", .string(scan.reason.rawValue)),
                ("durationMS", .number(MonitoringEvent.format(scan.durationMS))), ("topologyType", .string(scan.topologyType.rawValue)),
                ("checked", .array(checks)), ("coolingDown", .array(scan.coolingDown.map { .string($0.description) })),
            ])
        } else {
            output.append { $0 += Self.humanTime(t) + scan.summary + "\n" }
        }
    }

    func print(_ event: MonitoringEvent, at happenedNS: UInt64) {
        if changesOnly, !Self.isChange(event) { return }
        let (t, wall) = times(of: happenedNS)
        if json {
            output.append { event.writeJSONLine(t: t, wall: wall, into: &$0) }
        } else {
            output.append { $0 += Self.humanTime(t) + event.humanLine + "\n" }
        }
    }

    /// The publisher has delivered everything it had: say what it dropped, then write.
    func drained(dropped: Int) {
        if dropped > 0 {
            let (t, wall) = times(of: MonotonicClock.nanoseconds())
            if json {
                writeJSON(t: t, wall: wall, event: "eventsDropped", [("count", .number("\(dropped)"))])
            } else {
                output.append { $0 += Self.humanTime(t) + "eventsDropped \(dropped) (heartbeat events: the printer fell behind)\n" }
            }
        }
        output.flush()
    }

    func flush() { output.flush() }

    /// A line of the tool's own (`scan`, `eventsDropped`), with the timing fields first.
    private func writeJSON(t: Double, wall: Double, event: String, _ fields: [(String, JSONValue)]) {
        output.append { MonitoringEvent.writeJSONLine(t: t, wall: wall, event: event, fields: fields, into: &$0) }
    }

    /// `t` right-aligned in nine columns with three decimals, and a space.
    static func humanTime(_ t: Double) -> String {
        let text = MonitoringEvent.format(t)
        return String(repeating: " ", count: max(0, 9 - text.count)) + text + " "
    }

    /// Seconds since the tool started, and the wall time, of an instant (now, less how long
    /// its delivery took).
    private func times(of happenedNS: UInt64) -> (t: Double, wall: Double) {
        var now = timeval()
        gettimeofday(&now, nil)
        let lagSeconds = Double(MonotonicClock.nanoseconds() &- happenedNS) / 1e9
        return (Double(happenedNS &- start) / 1e9, Double(now.tv_sec) + Double(now.tv_usec) / 1e6 - lagSeconds)
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
