import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The latency window: from the fastest suitable server's RTT to that plus localThresholdMS.
@Suite struct LatencyWindowTests {
    typealias F = SelectionFixtures

    static let mongoses = F.topology(.sharded, [
        F.server("a:27017", .mongos, rtt: 10),
        F.server("b:27017", .mongos, rtt: 25),
        F.server("c:27017", .mongos, rtt: 25.5),
        F.server("d:27017", .mongos, rtt: 200),
    ])

    @Test func defaultThresholdIsFifteenMillisecondsInclusive() throws {
        #expect(try F.window(.write, in: Self.mongoses) == ["a:27017", "b:27017"])
    }

    @Test func zeroThresholdKeepsOnlyTheFastest() throws {
        #expect(try F.window(.write, in: Self.mongoses, selector: ServerSelector(localThresholdMS: 0)) == ["a:27017"])
    }

    @Test func wideThresholdKeepsAll() throws {
        #expect(try F.window(.write, in: Self.mongoses, selector: ServerSelector(localThresholdMS: 1000)).count == 4)
    }

    @Test func windowIsAnchoredOnSuitableServersOnly() throws {
        // The primary is fastest, but for mode secondary only the secondaries anchor the window.
        let topology = F.topology(.replicaSetWithPrimary, [
            F.server("p:27017", .rsPrimary, rtt: 1),
            F.server("s1:27017", .rsSecondary, rtt: 50),
            F.server("s2:27017", .rsSecondary, rtt: 60),
            F.server("s3:27017", .rsSecondary, rtt: 70),
        ])
        #expect(try F.window(.read(.secondary), in: topology) == ["s1:27017", "s2:27017"])
    }

    @Test func unmeasuredServerStaysInTheWindowWithoutAnchoringIt() {
        let servers = [F.server("a:27017", .mongos, rtt: nil), F.server("b:27017", .mongos, rtt: 5), F.server("c:27017", .mongos, rtt: 50)]
        #expect(LatencyWindow.filter(servers, localThresholdMS: 15).map(\.address.description) == ["a:27017", "b:27017"])
    }
}
