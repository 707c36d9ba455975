import MongoBSON

/// What the tests' DNS server (`TestDNSServer`) serves: records, and whether it answers at all.
public struct DNSZone: Sendable, Equatable {
    public enum Mode: String, Sendable {
        /// Answers from the records (NXDOMAIN for a name that has none).
        case answer
        /// Drops every query: a DNS server that stopped answering.
        case silent
        /// Answers SERVFAIL to everything.
        case servfail
    }

    public struct Record: Sendable, Equatable {
        public var name: String
        public var type: String
        public var ttl: UInt32
        public var data: JSONValue

        public static func a(_ name: String, _ address: String = "127.0.0.1", ttl: UInt32 = 86400) -> Record {
            Record(name: name, type: "A", ttl: ttl, data: .string(address))
        }

        public static func srv(_ name: String, port: UInt16, target: String, ttl: UInt32 = 86400) -> Record {
            Record(name: name, type: "SRV", ttl: ttl, data: .object([
                ("priority", .number("0")), ("weight", .number("0")), ("port", .number(String(port))), ("target", .string(target)),
            ]))
        }

        public static func txt(_ name: String, _ strings: [String], ttl: UInt32 = 86400) -> Record {
            Record(name: name, type: "TXT", ttl: ttl, data: .array(strings.map(JSONValue.string)))
        }
    }

    public var records: [Record]
    public var mode: Mode

    public init(records: [Record], mode: Mode = .answer) {
        self.records = records
        self.mode = mode
    }

    /// The server's command: one line of JSON.
    var commandLine: String {
        let records = self.records.map { record -> JSONValue in
            .object([
                ("name", .string(record.name)), ("type", .string(record.type)),
                ("ttl", .number(String(record.ttl))), ("data", record.data),
            ])
        }
        return JSONWriter.write(.object([("mode", .string(mode.rawValue)), ("records", .array(records))]))
    }

    /// This zone without the SRV records of `name`, with `records` added.
    public func replacingSRV(of name: String, with records: [Record]) -> DNSZone {
        var zone = self
        zone.records.removeAll { $0.type == "SRV" && $0.name == name }
        zone.records += records
        return zone
    }

    // MARK: - The initial DNS seedlist discovery tests' records

    static let domain = "test.build.10gen.cc"
    /// The host every test record points at (127.0.0.1).
    public static let testHost = "localhost.test.build.10gen.cc"

    /// The records the initial-dns-seedlist-discovery tests' README lists under
    /// test.build.10gen.cc, transcribed (TTL 86400 as there). One addition: the README lists
    /// one SRV record for `_customname._tcp.test22` (port 27017) while the
    /// `srv-service-name` test expects two seeds, 27017 and 27018; both are served.
    public static let seedlistDiscoveryTests: DNSZone = {
        let host = testHost + "."
        func srv(_ test: String, _ ports: [UInt16], target: String = host, service: String = "mongodb") -> [Record] {
            let name = test.isEmpty ? "_\(service)._tcp.\(domain)" : "_\(service)._tcp.\(test).\(domain)"
            return ports.map { Record.srv(name, port: $0, target: target) }
        }
        var records: [Record] = [.a(testHost), .a("localhost.sub.\(domain)")]
        records += srv("test1", [27017, 27018])
        records += srv("test2", [27018, 27019])
        for test in ["test3", "test5", "test6", "test7", "test8", "test10", "test11", "test20", "test21"] {
            records += srv(test, [27017])
        }
        records += srv("test12", [27017], target: "localhost.build.10gen.cc.")
        records += srv("test13", [27017], target: "test.build.10gen.cc.")
        records += srv("test14", [27017], target: "localhost.not-test.build.10gen.cc.")
        records += srv("test15", [27017], target: "localhost.test.not-build.10gen.cc.")
        records += srv("test16", [27017], target: "localhost.test.build.not-10gen.cc.")
        records += srv("test17", [27017], target: "localhost.test.build.10gen.not-cc.")
        records += srv("test18", [27017], target: "localhost.sub.\(domain).")
        records += srv("test19", [27017], target: "localhost.evil.build.10gen.cc.")
        records += srv("test19", [27017])
        records += srv("test22", [27017, 27018], service: "customname")
        records += srv("test23", [8000])
        records += srv("test24", [8000])
        records.append(.srv("_mongodb._tcp.build.10gen.cc", port: 27017, target: "build.10gen.cc."))
        records += srv("", [27017], target: "test.build.10gen.cc.")
        records += [
            .txt("test5.\(domain)", ["replicaSet=repl0&authSource=thisDB"]),
            .txt("test6.\(domain)", ["replicaSet=repl0"]),
            .txt("test6.\(domain)", ["authSource=otherDB"]),
            .txt("test7.\(domain)", ["ssl=false"]),
            .txt("test8.\(domain)", ["authSource"]),
            .txt("test10.\(domain)", ["socketTimeoutMS=500"]),
            .txt("test11.\(domain)", ["replicaS", "et=rep", "l0"]),
            .txt("test20.\(domain)", ["loadBalanced=true"]),
            .txt("test21.\(domain)", ["loadBalanced=false"]),
            .txt("test24.\(domain)", ["loadBalanced=true"]),
        ]
        return DNSZone(records: records)
    }()
}
