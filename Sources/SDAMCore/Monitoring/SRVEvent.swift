import MongoBSON

/// What a `mongodb+srv://` topology's DNS lookups did: the initial lookup of its SRV and TXT
/// records, its retries, and the rescans of SRV polling. Published in order with the SDAM
/// events (`MonitoringEvent.srv`); `sdam watch` prints them as lines of their own.
public enum SRVEvent: Sendable, Equatable {
    /// A lookup of `name` started; `rescan` is false for the initial discovery (SRV and TXT).
    case lookupStarted(name: String, rescan: Bool)
    /// The records came back.
    case lookupSucceeded(SRVLookupSummary)
    /// The lookup brought no usable answer (a DNS failure, or records the spec refuses);
    /// `nextLookupMS` is when the next one starts (heartbeatFrequencyMS), nil when none will.
    case lookupFailed(name: String, rescan: Bool, durationMS: Double, error: String, nextLookupMS: Int64?)
}

/// One successful lookup: the records, what they changed, and when the next rescan is.
public struct SRVLookupSummary: Sendable, Equatable {
    public var name: String
    public var rescan: Bool
    public var durationMS: Double
    public var records: [SRVRecord]
    /// The TXT record's text (initial discovery only; nil when there is none).
    public var txt: String?
    /// Servers the answer added to the topology (the seeds, for the initial discovery).
    public var added: [ServerAddress]
    public var removed: [ServerAddress]
    /// Targets refused by the parent-domain rule (a rescan skips them), with why.
    public var refused: [String]
    /// Milliseconds until the next rescan; nil when the topology is not rescanned.
    public var nextRescanMS: Int64?

    public init(name: String, rescan: Bool, durationMS: Double, records: [SRVRecord], txt: String? = nil,
                added: [ServerAddress] = [], removed: [ServerAddress] = [], refused: [String] = [], nextRescanMS: Int64? = nil) {
        self.name = name
        self.rescan = rescan
        self.durationMS = durationMS
        self.records = records
        self.txt = txt
        self.added = added
        self.removed = removed
        self.refused = refused
        self.nextRescanMS = nextRescanMS
    }
}

extension SRVEvent {
    /// `srvLookupStarted`, `srvLookupSucceeded`, `srvLookupFailed`.
    public var name: String {
        switch self {
        case .lookupStarted: "srvLookupStarted"
        case .lookupSucceeded: "srvLookupSucceeded"
        case .lookupFailed: "srvLookupFailed"
        }
    }

    /// The event's JSON fields after `event`.
    public var jsonFields: [(String, JSONValue)] {
        func addresses(_ list: [ServerAddress]) -> JSONValue { .array(list.map { .string($0.description) }) }
        func ms(_ value: Int64?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        switch self {
        case .lookupStarted(let name, let rescan):
            return [("name", .string(name)), ("rescan", .bool(rescan))]
        case .lookupSucceeded(let s):
            let records = s.records.map { record -> JSONValue in
                .object([
                    ("target", .string(record.target)), ("port", .number(String(record.port))),
                    ("ttl", record.ttl.map { .number(String($0)) } ?? .null),
                ])
            }
            return [
                ("name", .string(s.name)), ("rescan", .bool(s.rescan)),
                ("durationMS", .number(MonitoringEvent.format(s.durationMS))),
                ("records", .array(records)), ("txt", s.txt.map(JSONValue.string) ?? .null),
                ("added", addresses(s.added)), ("removed", addresses(s.removed)),
                ("refused", .array(s.refused.map(JSONValue.string))), ("nextRescanMS", ms(s.nextRescanMS)),
            ]
        case .lookupFailed(let name, let rescan, let durationMS, let error, let next):
            return [
                ("name", .string(name)), ("rescan", .bool(rescan)),
                ("durationMS", .number(MonitoringEvent.format(durationMS))),
                ("error", .string(error)), ("nextLookupMS", ms(next)),
            ]
        }
    }

    /// One line for `sdam watch`: "srvLookupSucceeded _mongodb._tcp.x (rescan) 1.204 ms:
    /// 2 records [a:27017 TTL 60 s, b:27017 TTL 60 s]; added [b:27017]; next rescan in 60 s".
    public var humanLine: String {
        func list(_ items: [String]) -> String { "[" + items.joined(separator: ", ") + "]" }
        func seconds(_ ms: Int64) -> String {
            ms % 1000 == 0 ? "\(ms / 1000) s" : "\(MonitoringEvent.format(Double(ms) / 1000)) s"
        }
        switch self {
        case .lookupStarted(let name, let rescan):
            return "\(self.name) \(name)" + (rescan ? " (rescan)" : " (SRV and TXT)")
        case .lookupSucceeded(let s):
            var parts = ["\(name) \(s.name)\(s.rescan ? " (rescan)" : "") \(MonitoringEvent.format(s.durationMS)) ms:"]
            let records = s.records.map { "\($0.target):\($0.port)" + ($0.ttl.map { " TTL \($0) s" } ?? "") }
            parts.append("\(s.records.count) record\(s.records.count == 1 ? "" : "s") \(list(records))")
            if let txt = s.txt { parts.append("TXT \"\(txt)\"") }
            var changes: [String] = []
            if !s.added.isEmpty { changes.append((s.rescan ? "added " : "seeds ") + list(s.added.map(\.description))) }
            if !s.removed.isEmpty { changes.append("removed " + list(s.removed.map(\.description))) }
            if s.rescan, s.added.isEmpty, s.removed.isEmpty { changes.append("no change") }
            if !s.refused.isEmpty { changes.append("refused " + list(s.refused)) }
            if let next = s.nextRescanMS { changes.append("next rescan in \(seconds(next))") }
            return parts.joined(separator: " ") + (changes.isEmpty ? "" : "; " + changes.joined(separator: "; "))
        case .lookupFailed(let name, let rescan, let durationMS, let error, let next):
            let retry = next.map { "; next lookup in \(seconds($0))" } ?? ""
            return "\(self.name) \(name)\(rescan ? " (rescan)" : "") \(MonitoringEvent.format(durationMS)) ms: \(error)\(retry)"
        }
    }
}
