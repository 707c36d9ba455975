import ArgumentParser
import Foundation
import PoolMonitor

/// `sdam watch [URI]`: monitors a deployment and prints one line per event.
struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Monitor a deployment and print one line per SDAM or heartbeat event.",
        discussion: """
            With --json every line is a JSON object with `t` (seconds since the tool started, \
            monotonic clock), `wall` (Unix time, microseconds) and `event` (the spec's event name \
            in camelCase), plus the event's fields.
            """
    )

    @Argument(help: "A mongodb:// connection string.")
    var uri: String

    @Flag(name: .long, help: "Print one JSON object per line.")
    var json = false

    @Option(name: .long, help: "Stop after this many seconds (exit status 0).")
    var duration: Double?

    func run() throws {
        let start = MonotonicClock.nanoseconds()
        let connectionString: ConnectionString
        do {
            connectionString = try ConnectionString(uri)
        } catch {
            throw ValidationError("\(error)")
        }
        for warning in connectionString.warnings {
            FileHandle.standardError.write(Data("warning: \(warning)\n".utf8))
        }
        let settings = try TopologySettings(connectionString: connectionString)
        let options = MonitorOptions(
            connectTimeoutMS: connectionString.options.connectTimeoutMS ?? 10_000,
            appName: connectionString.options.appName ?? "sdam watch"
        )
        let printer = EventPrinter(start: start, json: json)
        let events = EventPublisher()
        events.addHandler { printer.print($0) }
        let monitor = try TopologyMonitor(settings: settings, options: options, events: events)
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

    func print(_ event: MonitoringEvent) {
        let t = Double(MonotonicClock.nanoseconds() - start) / 1e9
        var now = timeval()
        gettimeofday(&now, nil)
        let wall = Double(now.tv_sec) + Double(now.tv_usec) / 1e6
        let line: String
        if json {
            var fields: [(String, JSONValue)] = [
                ("t", .number(String(format: "%.6f", t))),
                ("wall", .number(String(format: "%.6f", wall))),
                ("event", .string(event.name)),
            ]
            fields += event.jsonFields
            line = JSONWriter.write(.object(fields))
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
