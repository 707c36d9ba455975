import Testing
@testable import MongoBSON
@testable import SDAMCore

/// The initial DNS seedlist discovery spec's rules without DNS: the names queried, the parent
/// domain rule (prose tests 1-4), the TXT rules, srvMaxHosts, TLS by default, and the settings
/// that come out.
@Suite struct SRVSeedlistTests {
    static func seedlist(_ uri: String) throws -> SRVSeedlist {
        guard let seedlist = SRVSeedlist(connectionString: try ConnectionString(uri)) else {
            throw SeedlistError.noSRVRecords(name: "not an SRV URI: \(uri)")
        }
        return seedlist
    }

    static func srv(_ targets: [(String, UInt16)], ttl: UInt32? = nil) -> [SRVRecord] {
        targets.map { SRVRecord(port: $0.1, target: $0.0, ttl: ttl) }
    }

    static func resolve(_ uri: String, _ records: [SRVRecord], txt: [String]? = nil, seed: UInt64 = 1) throws -> ResolvedSeedlist {
        var generator = SplitMix64(seed: seed)
        let txtRecords = txt.map { [TXTRecord(strings: $0)] } ?? []
        return try seedlist(uri).resolve(srv: records, txt: txtRecords, using: &generator)
    }

    static func address(_ text: String) -> ServerAddress { ServerAddress(text)! }

    @Test("the SRV and TXT names, the service name, the domain name")
    func names() throws {
        let plain = try Self.seedlist("mongodb+srv://Cluster0.Example.NET/")
        #expect(plain.srvName == "_mongodb._tcp.cluster0.example.net")
        #expect(plain.txtName == "cluster0.example.net" && plain.domainName == "example.net")
        let custom = try Self.seedlist("mongodb+srv://test22.test.build.10gen.cc/?srvServiceName=customname")
        #expect(custom.srvName == "_customname._tcp.test22.test.build.10gen.cc")
        #expect(try Self.seedlist("mongodb+srv://localhost").domainName == "localhost")
        #expect(try Self.seedlist("mongodb+srv://mongo.local").domainName == "mongo.local")
        #expect(SRVSeedlist(connectionString: try ConnectionString("mongodb://a")) == nil)
    }

    @Test("prose 1: SRV host names of fewer than three labels are accepted before DNS")
    func fewerThanThreeLabelsParse() throws {
        for uri in ["mongodb+srv://localhost", "mongodb+srv://mongo.local"] {
            let settings = try ClientSettings(connectionString: try ConnectionString(uri))
            #expect(settings.topology.seeds.isEmpty && settings.topology.srv != nil && settings.topology.awaitsSeedlist)
        }
    }

    @Test("a single-threaded client refuses mongodb+srv until its scans read SRV records")
    func singleThreadedRefusesSRV() throws {
        let cs = try ConnectionString("mongodb+srv://cluster0.example.net/")
        #expect { _ = try ClientSettings(connectionString: cs, for: .singleThreaded) } throws: {
            "\($0)".contains("not supported by the single-threaded client yet")
        }
        #expect(throws: Never.self) { _ = try ClientSettings(connectionString: cs, for: .pooled) }
    }

    @Test("prose 2-4: targets outside the parent domain, equal to a short host name, or missing the dot are refused",
          arguments: [
              ("mongodb+srv://localhost", "localhost.mongodb"),
              ("mongodb+srv://mongo.local", "test_1.evil.local"),
              ("mongodb+srv://blogs.mongodb.com", "blogs.evil.com"),
              ("mongodb+srv://localhost", "localhost"),
              ("mongodb+srv://mongo.local", "mongo.local"),
              ("mongodb+srv://localhost", "test_1.cluster_1localhost"),
              ("mongodb+srv://mongo.local", "test_1.my_hostmongo.local"),
              ("mongodb+srv://blogs.mongodb.com", "cluster.testmongodb.com"),
          ])
    func refusedTargets(uri: String, target: String) throws {
        #expect {
            _ = try Self.resolve(uri, Self.srv([(target, 27017)]))
        } throws: { error in
            guard case SeedlistError.targetRefused(_, let refused, _) = error else { return false }
            return refused == target && (error as? SeedlistError)?.isInvalidResult == true
        }
    }

    @Test("accepted targets: a longer parent, the hostname itself with three labels, case and a trailing dot")
    func acceptedTargets() throws {
        let longer = try Self.resolve("mongodb+srv://test18.test.build.10gen.cc/?replicaSet=repl0",
                                      Self.srv([("localhost.sub.test.build.10gen.cc.", 27017)]))
        #expect(longer.seeds == [Self.address("localhost.sub.test.build.10gen.cc:27017")])
        let same = try Self.resolve("mongodb+srv://test.build.10gen.cc", Self.srv([("test.build.10gen.cc", 27017)]))
        #expect(same.seeds == [Self.address("test.build.10gen.cc:27017")])
        let short = try Self.resolve("mongodb+srv://localhost", Self.srv([("DB1.LOCALHOST.", 27018)]))
        #expect(short.seeds == [Self.address("db1.localhost:27018")])
        // A target that is the parent domain itself misses a label (returned-parent-too-short).
        #expect(throws: SeedlistError.self) {
            try Self.resolve("mongodb+srv://test13.test.build.10gen.cc", Self.srv([("test.build.10gen.cc", 27017)]))
        }
        // One bad target fails the whole answer (parent-part-mismatch5).
        #expect(throws: SeedlistError.self) {
            try Self.resolve("mongodb+srv://test19.test.build.10gen.cc",
                             Self.srv([("localhost.evil.build.10gen.cc", 27017), ("localhost.test.build.10gen.cc", 27017)]))
        }
    }

    @Test("an empty answer is an error; repeated records count once; the lowest TTL is kept")
    func answers() throws {
        #expect(throws: SeedlistError.noSRVRecords(name: "_mongodb._tcp.test4.test.build.10gen.cc")) {
            try Self.resolve("mongodb+srv://test4.test.build.10gen.cc", [])
        }
        let records = [SRVRecord(port: 27017, target: "a.example.com", ttl: 300), SRVRecord(port: 27017, target: "A.example.com.", ttl: 90)]
        let resolved = try Self.resolve("mongodb+srv://c.example.com", records)
        #expect(resolved.seeds == [Self.address("a.example.com:27017")] && resolved.lowestTTL == 90)
    }

    @Test("TXT: authSource, replicaSet and loadBalanced only, the URI's values win, strings concatenate")
    func txtOptions() throws {
        let one = Self.srv([("localhost.test.build.10gen.cc", 27017)])
        let uri = "mongodb+srv://test5.test.build.10gen.cc/"
        let resolved = try Self.resolve(uri, one, txt: ["replicaSet=repl0&authSource=thisDB"])
        #expect(resolved.connectionString.options.replicaSet == "repl0")
        #expect(resolved.connectionString.options.authSource == "thisDB")
        #expect(resolved.connectionString.usesTLS, "mongodb+srv implies tls=true")
        let overridden = try Self.resolve(uri + "?authSource=otherDB", one, txt: ["replicaSet=repl0&authSource=thisDB"])
        #expect(overridden.connectionString.options.authSource == "otherDB")
        let split = try Self.resolve("mongodb+srv://test11.test.build.10gen.cc/", one, txt: ["replicaS", "et=rep", "l0"])
        #expect(split.connectionString.options.replicaSet == "repl0")
        let plaintext = try Self.resolve(uri + "?ssl=false", one, txt: ["replicaSet=repl0"])
        #expect(!plaintext.connectionString.usesTLS, "tls=false in the URI turns TLS off")

        #expect { try Self.resolve(uri, one, txt: ["ssl=false"]) } throws: {
            ($0 as? SeedlistError) == .txtOptionNotAllowed(name: "test5.test.build.10gen.cc", option: "ssl")
        }
        #expect { try Self.resolve(uri, one, txt: ["socketTimeoutMS=500"]) } throws: {
            guard case SeedlistError.txtOptionNotAllowed(_, "socketTimeoutMS") = $0 else { return false }
            return "\($0)".contains("only authSource, replicaSet and loadBalanced")
        }
        #expect { try Self.resolve(uri, one, txt: ["authSource"]) } throws: {
            if case SeedlistError.malformedTXT = $0 { return true }
            return false
        }
        var generator = SplitMix64(seed: 1)
        #expect { try Self.seedlist(uri).resolve(srv: one, txt: [TXTRecord(strings: ["replicaSet=repl0"]), TXTRecord(strings: ["authSource=otherDB"])], using: &generator) } throws: {
            ($0 as? SeedlistError) == .multipleTXTRecords(name: "test5.test.build.10gen.cc", count: 2)
        }
    }

    @Test("URI validation after the records: srvMaxHosts against a TXT replicaSet, loadBalanced against several hosts")
    func validationAfterTheRecords() throws {
        let two = Self.srv([("localhost.test.build.10gen.cc", 27017), ("localhost.test.build.10gen.cc", 27018)])
        #expect { try Self.resolve("mongodb+srv://test5.test.build.10gen.cc/?srvMaxHosts=1", two, txt: ["replicaSet=repl0"]) } throws: {
            if case SeedlistError.invalidOptions = $0 { return "\($0)".contains("srvMaxHosts=1 cannot be used with replicaSet") }
            return false
        }
        #expect { try Self.resolve("mongodb+srv://test1.test.build.10gen.cc/?loadBalanced=true", two) } throws: {
            "\($0)".contains("loadBalanced=true requires exactly one host")
        }
        #expect { try Self.resolve("mongodb+srv://test24.test.build.10gen.cc/?srvMaxHosts=1", Array(two.prefix(1)), txt: ["loadBalanced=true"]) } throws: {
            "\($0)".contains("cannot be used with loadBalanced=true")
        }
    }

    @Test("srvMaxHosts: all hosts at 0 or at least their number, else that many at random (injected randomness)")
    func srvMaxHosts() throws {
        let hosts = (0..<5).map { ("h\($0).example.com", UInt16(27017)) }
        #expect(try Self.resolve("mongodb+srv://c.example.com/?srvMaxHosts=0", Self.srv(hosts)).seeds.count == 5)
        #expect(try Self.resolve("mongodb+srv://c.example.com/?srvMaxHosts=9", Self.srv(hosts)).seeds.count == 5)
        var chosen = Set<[ServerAddress]>()
        for seed in 0..<40 as Range<UInt64> {
            let resolved = try Self.resolve("mongodb+srv://c.example.com/?srvMaxHosts=2", Self.srv(hosts), seed: seed)
            #expect(resolved.seeds.count == 2 && Set(resolved.seeds).isSubset(of: Set(resolved.hosts)))
            #expect(resolved.hosts.count == 5 && resolved.connectionString.hosts.count == 2)
            chosen.insert(resolved.seeds)
        }
        #expect(chosen.count > 5, "different seeds choose different hosts")
        // The same seed chooses the same hosts.
        let again = try (0..<2).map { _ in try Self.resolve("mongodb+srv://c.example.com/?srvMaxHosts=2", Self.srv(hosts), seed: 7).seeds }
        #expect(again[0] == again[1])
    }

    @Test("the Fisher-Yates shuffle is uniform enough: every host comes first about as often")
    func shuffleIsUniform() {
        let items = Array(0..<4)
        var first = [Int](repeating: 0, count: 4)
        var generator = SplitMix64(seed: 42)
        for _ in 0..<4000 { first[SRVSeedlist.fisherYatesShuffled(items, using: &generator)[0]] += 1 }
        #expect(first.allSatisfy { (850...1150).contains($0) }, "\(first)")
    }

    @Test("the settings: no seeds before DNS, then the seeds and the TXT options; adjustments made in code stay")
    func settings() throws {
        let cs = try ConnectionString("mongodb+srv://user:pw@test5.test.build.10gen.cc/?heartbeatFrequencyMS=600")
        var settings = try ClientSettings(connectionString: cs)
        #expect(settings.tls != nil && settings.topology.seeds.isEmpty && settings.credential?.source == "admin")
        settings.monitoring.threadName = "adjusted"
        var generator = SplitMix64(seed: 1)
        let seedlist = try settings.topology.srv!.resolve(
            srv: Self.srv([("localhost.test.build.10gen.cc", 27017)]), txt: [TXTRecord(strings: ["replicaSet=repl0&authSource=thisDB"])],
            using: &generator)
        let resolved = try settings.resolved(by: seedlist)
        #expect(resolved.topology.seeds == [Self.address("localhost.test.build.10gen.cc:27017")])
        #expect(resolved.topology.replicaSet == "repl0" && resolved.topology.initialTopologyType == .replicaSetNoPrimary)
        #expect(resolved.credential?.source == "thisDB" && resolved.monitoring.threadName == "adjusted")
        #expect(resolved.topology.heartbeatFrequency == .milliseconds(600) && resolved.tls != nil)
        #expect(!resolved.topology.awaitsSeedlist && resolved.topology.srv != nil)
    }
}

/// The polling spec's rules: the rescan interval, and what an answer adds and removes.
@Suite struct SRVPollingTests {
    static func a(_ port: UInt16) -> ServerAddress { ServerAddress(host: "localhost.test.build.10gen.cc", port: port) }

    @Test("the interval: the lowest TTL, not under 60 s; 60 s without TTLs; the heartbeat after a failure")
    func interval() {
        let heartbeat = Duration.seconds(10)
        #expect(SRVPolling.interval(foundValidHosts: true, lowestTTL: 86400, heartbeat: heartbeat) == .seconds(86400))
        #expect(SRVPolling.interval(foundValidHosts: true, lowestTTL: 5, heartbeat: heartbeat) == .seconds(60))
        #expect(SRVPolling.interval(foundValidHosts: true, lowestTTL: nil, heartbeat: heartbeat) == .seconds(60))
        #expect(SRVPolling.interval(foundValidHosts: false, lowestTTL: 300, heartbeat: heartbeat) == heartbeat)
        #expect(SRVPolling.interval(foundValidHosts: true, lowestTTL: 3, heartbeat: heartbeat, floor: .seconds(1)) == .seconds(3))
        #expect(SRVPolling.rescans(.sharded) && SRVPolling.rescans(.unknown))
        #expect(!SRVPolling.rescans(.replicaSetWithPrimary) && !SRVPolling.rescans(.loadBalanced) && !SRVPolling.rescans(.single))
    }

    static func changes(_ current: [UInt16], _ valid: [UInt16], maxHosts: Int = 0, seed: UInt64 = 1) -> SRVHostChanges {
        var generator = SplitMix64(seed: seed)
        return SRVPolling.changes(current: current.map(a), valid: valid.map(a), maxHosts: maxHosts, using: &generator)
    }

    @Test("prose 1-5 and 8: added, removed, replaced; no valid host changes nothing")
    func changes() {
        #expect(Self.changes([27017, 27018], [27017, 27018, 27019]) == SRVHostChanges(added: [Self.a(27019)]))
        #expect(Self.changes([27017, 27018], [27017]) == SRVHostChanges(removed: [Self.a(27018)]))
        #expect(Self.changes([27017, 27018], [27017, 27019]) == SRVHostChanges(added: [Self.a(27019)], removed: [Self.a(27018)]))
        #expect(Self.changes([27017, 27018], [27019]) == SRVHostChanges(added: [Self.a(27019)], removed: [Self.a(27017), Self.a(27018)]))
        #expect(Self.changes([27017, 27018], [27019, 27020])
            == SRVHostChanges(added: [Self.a(27019), Self.a(27020)], removed: [Self.a(27017), Self.a(27018)]))
        #expect(Self.changes([27017, 27018], []).isEmpty)
        #expect(Self.changes([27017, 27018], [27018, 27017]).isEmpty, "unchanged hosts are left alone")
    }

    @Test("prose 10-12: srvMaxHosts 0 takes all, srvMaxHosts at least the answer takes all, else new hosts at random up to it")
    func maxHosts() {
        #expect(Self.changes([27017, 27018], [27017, 27019, 27020], maxHosts: 0).added == [Self.a(27019), Self.a(27020)])
        #expect(Self.changes([27017, 27018], [27019, 27020], maxHosts: 2)
            == SRVHostChanges(added: [Self.a(27019), Self.a(27020)], removed: [Self.a(27017), Self.a(27018)]))
        var picked = Set<ServerAddress>()
        for seed in 0..<20 as Range<UInt64> {
            let changes = Self.changes([27017, 27018], [27017, 27019, 27020], maxHosts: 2, seed: seed)
            #expect(changes.removed == [Self.a(27018)] && changes.added.count == 1)
            picked.formUnion(changes.added)
        }
        #expect(picked == [Self.a(27019), Self.a(27020)], "either new host may be chosen")
        #expect(Self.changes([27017, 27018], [27017, 27018, 27019], maxHosts: 2).isEmpty, "a full topology takes no new host")
    }
}

/// The state machine's inputs for mongodb+srv: the seeds arriving, lookups failing, rescans.
@Suite struct SeedlistStateMachineTests {
    static func machine(_ uri: String) throws -> TopologyStateMachine {
        TopologyStateMachine(settings: try ClientSettings(connectionString: try ConnectionString(uri)).topology)
    }

    static func seeded(_ uri: String, _ ports: [UInt16], txt: [String]? = nil) throws -> (TopologyStateMachine, TopologyUpdate) {
        var machine = try machine(uri)
        _ = machine.open()
        var generator = SplitMix64(seed: 1)
        let resolved = try machine.settings.srv!.resolve(
            srv: ports.map { SRVRecord(port: $0, target: "localhost.test.build.10gen.cc") },
            txt: txt.map { [TXTRecord(strings: $0)] } ?? [], using: &generator)
        var settings = machine.settings
        settings.seeds = resolved.seeds
        settings.replicaSet = resolved.connectionString.options.replicaSet
        settings.loadBalanced = resolved.connectionString.options.loadBalanced ?? false
        let update = machine.seedlistDiscovered(settings)
        return (machine, update)
    }

    @Test("opening with no seeds, then the seeds join: ServerOpening each, monitors start, one TopologyDescriptionChanged")
    func seedsJoin() throws {
        var machine = try Self.machine("mongodb+srv://test1.test.build.10gen.cc/")
        #expect(machine.seedlist == .awaitingDNS(lastFailure: nil) && machine.description.servers.isEmpty)
        let opening = machine.open()
        #expect(opening.actions.isEmpty && opening.events.first == .topologyOpening)
        let (seeded, update) = try Self.seeded("mongodb+srv://test1.test.build.10gen.cc/", [27017, 27018])
        #expect(seeded.seedlist == .discovered && seeded.description.servers.count == 2 && seeded.description.type == .unknown)
        #expect(update.actions == [.startMonitoring(SRVPollingTests.a(27017)), .startMonitoring(SRVPollingTests.a(27018))])
        #expect(update.events.map(\.specName) == ["server_opening_event", "server_opening_event", "topology_description_changed_event"])
        var again = seeded
        let twice = again.seedlistDiscovered(seeded.settings)
        #expect(twice.isEmpty, "the seeds arrive once")
    }

    @Test("a TXT replicaSet makes the topology ReplicaSetNoPrimary; a TXT loadBalanced makes the seed a LoadBalancer")
    func txtShapesTheTopology() throws {
        let (rs, _) = try Self.seeded("mongodb+srv://test5.test.build.10gen.cc/", [27017], txt: ["replicaSet=repl0"])
        #expect(rs.description.type == .replicaSetNoPrimary && rs.description.setName == "repl0")
        let (lb, update) = try Self.seeded("mongodb+srv://test24.test.build.10gen.cc/", [8000], txt: ["loadBalanced=true"])
        #expect(lb.description.type == .loadBalanced && lb.description.servers.values.first?.type == .loadBalancer)
        #expect(update.actions == [.markPoolReady(SRVPollingTests.a(8000))])
    }

    @Test("failures: a failed lookup waits (and is remembered), an invalid result refuses at once")
    func failures() throws {
        var machine = try Self.machine("mongodb+srv://test4.test.build.10gen.cc/")
        let nx = SeedlistError.lookupFailed(DNSLookupError(type: .srv, name: "_mongodb._tcp.test4.test.build.10gen.cc", reason: .nameDoesNotExist))
        let failed = machine.seedlistFailed(nx)
        #expect(failed)
        #expect(machine.seedlist.pendingFailure == nx && machine.seedlist.refusal == nil)
        #expect("\(nx)" == "SRV lookup of _mongodb._tcp.test4.test.build.10gen.cc failed: NXDOMAIN")
        let again = machine.seedlistFailed(nx)
        #expect(!again, "the same failure again changes nothing")
        let invalid = SeedlistError.multipleTXTRecords(name: "test4.test.build.10gen.cc", count: 2)
        let refused = machine.seedlistFailed(invalid)
        #expect(refused && machine.seedlist.refusal == invalid)
        var given = TopologyStateMachine(settings: TopologySettings(seeds: [SRVPollingTests.a(1)]))
        let ignored = given.seedlistFailed(nx)
        #expect(!ignored && given.seedlist == .given)
    }

    @Test("rescans add and remove servers in Sharded and Unknown topologies only")
    func rescans() throws {
        var (machine, _) = try Self.seeded("mongodb+srv://test1.test.build.10gen.cc/", [27017, 27018])
        var generator = SplitMix64(seed: 1)
        let (update, changes) = machine.srvRescanned(validHosts: [SRVPollingTests.a(27017), SRVPollingTests.a(27019)], using: &generator)
        #expect(changes == SRVHostChanges(added: [SRVPollingTests.a(27019)], removed: [SRVPollingTests.a(27018)]))
        #expect(update.actions.contains(.startMonitoring(SRVPollingTests.a(27019))) && update.actions.contains(.stopMonitoring(SRVPollingTests.a(27018))))
        #expect(Set(machine.description.servers.keys) == [SRVPollingTests.a(27017), SRVPollingTests.a(27019)])
        let nothing = machine.srvRescanned(validHosts: [], using: &generator)
        #expect(nothing.update.isEmpty)

        var (rs, _) = try Self.seeded("mongodb+srv://test5.test.build.10gen.cc/", [27017], txt: ["replicaSet=repl0"])
        let rsRescan = rs.srvRescanned(validHosts: [SRVPollingTests.a(27019)], using: &generator)
        #expect(rsRescan.update.isEmpty, "a replica set is never rescanned")
        var given = TopologyStateMachine(settings: TopologySettings(seeds: [SRVPollingTests.a(1)]))
        let givenRescan = given.srvRescanned(validHosts: [SRVPollingTests.a(27019)], using: &generator)
        #expect(givenRescan.update.isEmpty)
    }
}
