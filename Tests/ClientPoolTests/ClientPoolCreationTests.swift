import Testing
@testable import MongoClientPool
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// What `ClientPool(uri:)` accepts and refuses, before any network I/O.
@Suite("creating a pool from a connection string")
struct ClientPoolCreationTests {
    @Test("a malformed connection string names the offending part")
    func malformedStringIsRefused() {
        #expect {
            _ = try ClientPool(uri: "mongodb://a:99999")
        } throws: { error in
            guard case ClientPoolError.invalidConnectionString = error else { return false }
            return "\(error)".contains("99999") && "\(error)".contains("a:99999")
        }
        #expect { _ = try ClientPool(uri: "http://a") } throws: { "\($0)".contains("must start with 'mongodb://'") }
    }

    @Test("a refused connection string leaves no thread: the loop started before the parse is joined")
    func refusedStringLeavesNoLoopThread() {
        // The pool starts its monitor's loop thread before it parses (issue 17). Other suites'
        // pools run threads of the same name meanwhile, so the check is that 50 refusals do
        // not leave 50 more: a leak of one thread each would.
        let name = SDAMDefaults.monitorThreadName
        let before = ResourceCounts.threads(named: name)
        for _ in 0..<50 {
            #expect(throws: ClientPoolError.self) { _ = try ClientPool(uri: "mongodb://a:99999") }
            #expect(throws: ClientPoolError.self) { _ = try ClientPool(uri: "mongodb://a/?tls=true&tlsCAFile=/nonexistent/ca.pem") }
        }
        #expect(ResourceCounts.settle({ ResourceCounts.threads(named: name) }, to: before, within: 5) < before + 10)
    }

    @Test("mongodb+srv:// makes a pool at once: no DNS on the caller's thread, no seeds yet, TLS on")
    func srvPoolStartsWithoutSeeds() throws {
        let start = ContinuousClock.now
        let pool = try ClientPool(uri: "mongodb+srv://cluster0.invalid/?serverSelectionTimeoutMS=1000")
        defer { pool.close() }
        #expect(ContinuousClock.now - start < .milliseconds(500))
        #expect(pool.settings.tls != nil && pool.settings.topology.srv?.srvName == "_mongodb._tcp.cluster0.invalid")
        #expect(pool.topology.description.servers.isEmpty)
    }

    @Test("options reach the pool's settings; unset ones take the specs' defaults")
    func optionsAreRead() throws {
        let text = "mongodb://127.0.0.1:1/?maxPoolSize=7&waitQueueTimeoutMS=250&serverSelectionTimeoutMS=1500"
            + "&localThresholdMS=20&connectTimeoutMS=900&socketTimeoutMS=800&readPreference=secondary"
            + "&maxStalenessSeconds=120&appname=tests"
        let settings = try ClientSettings(connectionString: try ConnectionString(text))
        #expect(settings.maxPoolSize == 7 && settings.waitQueueTimeout == .milliseconds(250))
        #expect(settings.topology.serverSelectionTimeout == .milliseconds(1500) && settings.topology.localThreshold == .milliseconds(20))
        #expect(settings.monitoring.connectTimeout == .milliseconds(900) && settings.socketTimeout == .milliseconds(800))
        #expect(settings.readPreference == ReadPreference(mode: .secondary, maxStalenessSeconds: 120))
        #expect(settings.monitoring.appName == "tests")
        let defaults = try ClientSettings(connectionString: try ConnectionString("mongodb://h"))
        #expect(defaults.maxPoolSize == 100 && defaults.topology.serverSelectionTimeout == .seconds(30))
        #expect(defaults.monitoring.connectTimeout == .seconds(10) && defaults.topology.heartbeatFrequency == .seconds(10))
        #expect(defaults.waitQueueTimeout == nil && defaults.socketTimeout == nil && defaults.readPreference == .primary)
        // 0 is "no timeout" in the uri-options spec.
        let none = try ClientSettings(connectionString: try ConnectionString("mongodb://h/?connectTimeoutMS=0&socketTimeoutMS=0"))
        #expect(none.monitoring.connectTimeout == nil && none.socketTimeout == nil)
    }

    @Test("serverMonitoringMode and the monitoring socket options reach the pool's monitor")
    func monitorOptionsAreRead() throws {
        let text = "mongodb://127.0.0.1:1/?serverMonitoringMode=poll&connectTimeoutMS=900&appname=tests"
        let options = try ClientSettings(connectionString: try ConnectionString(text)).monitoring
        #expect(options.serverMonitoringMode == .poll)
        #expect(options.connectTimeout == .milliseconds(900) && options.appName == "tests")
        #expect(try ClientSettings(connectionString: try ConnectionString("mongodb://h")).monitoring.serverMonitoringMode == .auto)
    }
}
