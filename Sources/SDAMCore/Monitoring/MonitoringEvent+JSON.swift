import MongoBSON

/// Monitoring events as JSON objects, one per line in `sdam watch --json`: `event` is the
/// spec's event name in camelCase; server events carry `address`; description changes carry
/// `previousType` and `newType` (the spec's type names); topology changes also carry `servers`
/// (`address`, `type`, `rttMS`); heartbeats carry `durationMS` and `awaited`, and failures
/// `error`. The caller adds the timing fields it owns (`t`, `wall`).
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
                let servers = new.sortedServers.map { server -> JSONValue in
                    .object([
                        ("address", .string(server.address.description)),
                        ("type", .string(server.type.rawValue)),
                        ("rttMS", server.roundTripTimeMS.map { .number(Self.format($0)) } ?? .null),
                    ])
                }
                return [
                    ("previousType", .string(previous.type.rawValue)),
                    ("newType", .string(new.type.rawValue)),
                    ("servers", .array(servers)),
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

    /// A number with three decimals, as a JSON number lexeme.
    package static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let scaled = (value * 1000).rounded()
        let whole = Int64(scaled / 1000)
        let frac = Int64(abs(scaled.truncatingRemainder(dividingBy: 1000)))
        let sign = value < 0 && whole == 0 ? "-" : ""
        let fracText = String(frac)
        return "\(sign)\(whole).\(String(repeating: "0", count: 3 - fracText.count))\(fracText)"
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
        if case .array(let servers)? = field("servers") {
            let list = servers.map { s -> String in
                let rtt: String
                if case .number(let n)? = s["rttMS"] { rtt = " \(n) ms" } else { rtt = "" }
                return "\(s["address"]?.stringValue ?? "?") \(s["type"]?.stringValue ?? "?")\(rtt)"
            }
            parts.append("[" + list.joined(separator: ", ") + "]")
        }
        if let error = field("error")?.stringValue { parts.append("error: \(error)") }
        return parts.joined(separator: " ")
    }
}
