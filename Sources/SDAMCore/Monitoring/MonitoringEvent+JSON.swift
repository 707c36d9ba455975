import MongoBSON

/// Monitoring events as JSON objects, one per line in `sdam watch --json`: `event` is the
/// spec's event name in camelCase; server events carry `address`; description changes carry
/// `previousType` and `newType` (the spec's type names); topology changes also carry
/// `changedServers` (`address`, `type`, `rttMS` of each server added or changed) and
/// `removedServers` (addresses); heartbeats carry `durationMS` and `awaited`, and failures
/// `error`. The caller adds the timing fields it owns (`t`, `wall`).
///
/// A topology change lists what changed, not every server: the event shares the unchanged
/// servers with the previous description, and a line that listed them all would make
/// printing the discovery of N servers cost O(N²) (1,000 mongos: 60 MB of output).
extension MonitoringEvent {
    /// The spec's event name in camelCase (`serverHeartbeatSucceeded`, ...).
    public var name: String {
        switch self {
        case .sdam(let event):
            switch event {
            case .topologyOpening: "topologyOpening"
            case .serverOpening: "serverOpening"
            case .serverDescriptionChanged: "serverDescriptionChanged"
            case .serverClosed: "serverClosed"
            case .topologyDescriptionChanged: "topologyDescriptionChanged"
            case .topologyClosed: "topologyClosed"
            }
        case .serverHeartbeatStarted: "serverHeartbeatStarted"
        case .serverHeartbeatSucceeded: "serverHeartbeatSucceeded"
        case .serverHeartbeatFailed: "serverHeartbeatFailed"
        case .pool(let event): event.camelCaseName
        case .srv(let event): event.name
        }
    }

    /// The event's fields after `event`, in a stable order.
    public var jsonFields: [(String, JSONValue)] {
        switch self {
        case .sdam(let event):
            switch event {
            case .topologyOpening, .topologyClosed:
                return []
            case .serverOpening(let address), .serverClosed(let address):
                return [("address", .string(address.description))]
            case .serverDescriptionChanged(let address, let previous, let new):
                var fields: [(String, JSONValue)] = [
                    ("address", .string(address.description)),
                    ("previousType", .string(previous.type.rawValue)),
                    ("newType", .string(new.type.rawValue)),
                ]
                if let error = new.error { fields.append(("error", .string(error))) }
                return fields
            case .topologyDescriptionChanged(let previous, let new):
                let (changed, removed) = new.servers.changes(since: previous.servers)
                let servers = changed.map { server -> JSONValue in
                    .object([
                        ("address", .string(server.address.description)),
                        ("type", .string(server.type.rawValue)),
                        ("rttMS", server.roundTripTimeMS.map { .number(Self.format($0)) } ?? .null),
                    ])
                }
                return [
                    ("previousType", .string(previous.type.rawValue)),
                    ("newType", .string(new.type.rawValue)),
                    ("changedServers", .array(servers)),
                    ("removedServers", .array(removed.map { .string($0.description) })),
                ]
            }
        case .serverHeartbeatStarted(let address, let awaited):
            return [("address", .string(address.description)), ("awaited", .bool(awaited))]
        case .serverHeartbeatSucceeded(let address, let durationMS, _, let awaited):
            return [
                ("address", .string(address.description)),
                ("durationMS", .number(Self.format(durationMS))),
                ("awaited", .bool(awaited)),
            ]
        case .serverHeartbeatFailed(let address, let durationMS, let error, let awaited):
            return [
                ("address", .string(address.description)),
                ("durationMS", .number(Self.format(durationMS))),
                ("awaited", .bool(awaited)),
                ("error", .string(error)),
            ]
        case .pool(let event):
            var fields: [(String, JSONValue)] = [("address", .string(event.address.description))]
            if let id = event.connectionId { fields.append(("connectionId", .number(String(id)))) }
            switch event {
            case .poolCleared(_, let serviceId, let interrupt):
                if let serviceId { fields.append(("serviceId", .string(serviceId.hex))) }
                fields.append(("interruptInUseConnections", .bool(interrupt)))
            case .connectionClosed(_, _, let reason):
                fields.append(("reason", .string(reason.rawValue)))
            case .connectionCheckOutFailed(_, let reason, let durationMS):
                fields.append(("reason", .string(reason.rawValue)))
                fields.append(("durationMS", .number(Self.format(durationMS))))
            case .connectionReady(_, _, let durationMS), .connectionCheckedOut(_, _, let durationMS):
                fields.append(("durationMS", .number(Self.format(durationMS))))
            default:
                break
            }
            return fields
        case .srv(let event):
            return event.jsonFields
        }
    }

    /// One line of `sdam watch --json`, with its newline, appended to `out`: `t` (seconds
    /// since the tool started) and `wall` (Unix time) with six decimals, `event`, then the
    /// event's fields.
    public func writeJSONLine(t: Double, wall: Double, into out: inout String) {
        Self.writeJSONLine(t: t, wall: wall, event: name, fields: jsonFields, into: &out)
    }

    /// A line of that shape for any `event` name (`sdam watch`'s own lines use it too).
    public static func writeJSONLine(
        t: Double, wall: Double, event: String, fields: [(String, JSONValue)], into out: inout String
    ) {
        let line: [(String, JSONValue)] = [
            ("t", .number(format(t, decimals: 6))),
            ("wall", .number(format(wall, decimals: 6))),
            ("event", .string(event)),
        ]
        JSONWriter.write(.object(line + fields), into: &out, spaced: false)
        out += "\n"
    }

    /// A number with three decimals, as a JSON number lexeme.
    package static func format(_ value: Double) -> String {
        format(value, decimals: 3)
    }

    /// A number with `decimals` (1...9) decimals, as a JSON number lexeme, by integer
    /// arithmetic: `String(format:)` goes through Foundation's formatter, which cost `sdam
    /// watch` more than the rest of a heartbeat's line.
    package static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        let unit = (0..<decimals).reduce(1.0) { product, _ in product * 10 }
        let scaled = (value * unit).rounded()
        let whole = Int64(scaled / unit)
        let frac = Int64(abs(scaled.truncatingRemainder(dividingBy: unit)))
        let sign = value < 0 && whole == 0 ? "-" : ""
        let fracText = String(frac)
        return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fracText.count))\(fracText)"
    }

    /// One human-readable line (`sdam watch` without `--json`).
    public var humanLine: String {
        if case .srv(let event) = self { return event.humanLine }
        let fields = jsonFields
        func field(_ key: String) -> JSONValue? { fields.first(where: { $0.0 == key })?.1 }
        var parts = [name]
        if let address = field("address")?.stringValue { parts.append(address) }
        if let previous = field("previousType")?.stringValue, let new = field("newType")?.stringValue {
            parts.append("\(previous) -> \(new)")
        }
        if case .number(let ms)? = field("durationMS") { parts.append("\(ms) ms") }
        if field("awaited") == .bool(true) { parts.append("(awaited)") }
        if case .array(let servers)? = field("changedServers") {
            let list = servers.map { s -> String in
                let rtt: String
                if case .number(let n)? = s["rttMS"] { rtt = " \(n) ms" } else { rtt = "" }
                return "\(s["address"]?.stringValue ?? "?") \(s["type"]?.stringValue ?? "?")\(rtt)"
            }
            let removed = field("removedServers")?.arrayValue?.map { "\($0.stringValue ?? "?") removed" } ?? []
            parts.append("[" + (list + removed).joined(separator: ", ") + "]")
        }
        if let error = field("error")?.stringValue { parts.append("error: \(error)") }
        return parts.joined(separator: " ")
    }
}
