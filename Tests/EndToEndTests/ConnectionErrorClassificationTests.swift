import Foundation
@testable import MongoClientPool
import MongoSimulator
import Testing
@testable import MongoBSON
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// How failures of application connections are classified (SDAM error handling, CMAP's
/// backpressure labels).
@Suite struct ConnectionErrorClassificationTests {
    @Test("an unreadable handshake reply on an application connection is reported to SDAM, without backpressure labels")
    func unreadableHandshakeReplyMarksTheServerUnknown() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "classify-sim"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let pool = try ClientPool(uri: "mongodb://\(address)/?directConnection=true&serverSelectionTimeoutMS=3000&serverMonitoringMode=poll")
        defer { pool.close() }
        let ping: BSONDocument = ["ping": .int32(1)]
        let client = try pool.pop()
        defer { pool.push(client) }
        // Known first, with no application connection yet.
        _ = try client.selectServer(for: .write)
        try sim.makeHostile(address, .unreadableHandshake)
        var caught: ClientPoolError?
        do { _ = try client.runCommand(ping, database: "admin") } catch { caught = error }
        let error = try #require(caught)
        guard case .invalidReply(let server, let reason) = error else {
            Issue.record("expected an invalid reply, got \(error)")
            return
        }
        #expect(server.description == address)
        #expect(reason.contains("BSON"), "\(reason)")
        #expect(error.errorLabels.isEmpty, "an unreadable reply says nothing about load")
        let description = try #require(pool.topology.description.servers[ServerAddress(address)!])
        #expect(description.type == .unknown, "SDAM was told: the server is Unknown to the client")
        #expect(pool.topology.poolGeneration(for: ServerAddress(address)!) == 1, "and its pool was cleared")
    }

    @Test("a host that does not resolve is an SDAM network error without backpressure labels; a refused connect carries them")
    func nameResolutionFailuresCarryNoBackpressureLabels() {
        let server = ServerAddress("db.example:27017")!
        let unresolved = ConnectionError(kind: .nameResolution, server: server, phase: .beforeHandshakeCompletes,
                                         reason: "cannot resolve host 'db.example': Name or service not known")
        #expect(unresolved.applicationErrorKind == .network)
        #expect(!unresolved.mayCarryBackpressureLabels)
        let refused = ConnectionError(kind: .network, server: server, phase: .beforeHandshakeCompletes, reason: "connection refused")
        #expect(refused.applicationErrorKind == .network)
        #expect(refused.mayCarryBackpressureLabels)
        let badReplyLater = ConnectionError(kind: .invalidReply, server: server, phase: .afterHandshakeCompletes, reason: "bad BSON")
        #expect(badReplyLater.applicationErrorKind == nil, "on an established connection only that connection closes")
    }
}

/// TLS failures of application connections: a certificate the client refuses is the server's
/// identity, not its load (no backpressure labels; SDAM marks it Unknown and clears its pool);
/// a connection closed during the TLS handshake may be load shedding (the labels, nothing
/// cleared).
@Suite struct TLSFailureClassificationTests {
    static func establish(_ uri: String, to address: String) throws -> ConnectionError? {
        let connectionString = try ConnectionString(uri)
        let settings = try ClientSettings(connectionString: connectionString)
        let security = try ConnectionSecurity(settings: settings)
        do {
            let connection = try ServerConnection.establish(to: ServerAddress(address)!, generation: 0, settings: settings, security: security)
            connection.close()
            return nil
        } catch {
            return error
        }
    }

    @Test func aRejectedCertificateCarriesNoBackpressureLabels() throws {
        let certificates = try TestCertificates.shared()
        let sim = try MongoSimulator(SimulatorConfiguration(
            kind: .standalone, threadName: "tls-class", tls: TLSConfiguration(certificateKeyFile: certificates.selfSignedServerFile)))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let error = try #require(try Self.establish("mongodb://\(address)/?tls=true&tlsCAFile=\(certificates.caFile)", to: address))
        #expect(error.kind == .tls(.certificateRejected), "\(error.reason)")
        #expect(error.reason.contains(address), "the error names the server: \(error.reason)")
        let feedback = try #require(error.applicationError(generation: 0, maxWireVersion: 0))
        #expect(feedback.kind == .network && feedback.backpressureLabels.isEmpty)
    }

    @Test func aConnectionClosedDuringTheTLSHandshakeCarriesThem() throws {
        // A plaintext server hangs up on a ClientHello: EOF in the middle of the handshake.
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "tls-eof"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let error = try #require(try Self.establish("mongodb://\(address)/?tls=true", to: address))
        #expect(error.kind == .network, "\(error.reason)")
        #expect(error.reason.contains("TLS handshake") && error.reason.contains(address), "\(error.reason)")
        let feedback = try #require(error.applicationError(generation: 0, maxWireVersion: 0))
        #expect(feedback.backpressureLabels == ["SystemOverloadedError", "RetryableError"])
        #expect(sim.statistics(for: address)?.hellosReceived == 0)
    }
}

/// CMAP (DRIVERS-1785): when a check-out's new connection fails its handshake and SDAM clears
/// the pool for it, ConnectionPoolCleared comes before that connection's ConnectionClosed and
/// the ConnectionCheckOutFailed.
@Suite struct EstablishmentFailureEventOrderTests {
    @Test func poolClearedComesBeforeTheFailedConnectionsEvents() throws {
        let sim = try MongoSimulator(SimulatorConfiguration(kind: .standalone, threadName: "order-sim"))
        defer { sim.stop() }
        let address = sim.addresses[0]
        let seen = ConditionLock<[String]>([])
        let events = EventPublisher()
        events.addHandler { event in
            if case .pool(let pool) = event { seen.withLock { $0.append(pool.typeName) } }
        }
        let pool = try ClientPool(uri: "mongodb://\(address)/?directConnection=true&serverMonitoringMode=poll&serverSelectionTimeoutMS=2000",
                                  events: events)
        defer { pool.close() }
        _ = try pool.withClient { try $0.selectServer(for: .write) }
        // The next handshake (the application's first connection; the monitor's is open
        // already) is refused with a plain command error: SDAM marks the server Unknown and
        // clears its pool.
        _ = try sim.configureFailPoint([
            "configureFailPoint": .string("failCommand"), "mode": .document(["times": .int32(1)]),
            "data": .document(["failCommands": .array([.string("isMaster"), .string("hello")]), "errorCode": .int32(2)]),
        ], on: address)
        #expect(throws: ClientPoolError.self) { try pool.withClient { try $0.runCommand(["ping": .int32(1)], database: "admin") } }
        events.flush()
        let order = seen.withLock { $0 }.filter { ["ConnectionPoolCleared", "ConnectionClosed", "ConnectionCheckOutFailed"].contains($0) }
        #expect(order == ["ConnectionPoolCleared", "ConnectionClosed", "ConnectionCheckOutFailed"], "\(seen.withLock { $0 })")
    }
}
