import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// The JSON shape of `sdam watch --json` lines.
@Suite struct MonitoringEventJSONTests {
    let a = ServerAddress(host: "127.0.0.1", port: 27017)

    @Test func heartbeatFailureCarriesDurationAwaitedAndError() {
        let event = MonitoringEvent.serverHeartbeatFailed(a, durationMS: 12.3456, error: "127.0.0.1:27017: refused", awaited: false)
        #expect(event.name == "serverHeartbeatFailed")
        let json = JSONWriter.write(.object(event.jsonFields))
        #expect(json == #"{"address":"127.0.0.1:27017","durationMS":12.346,"awaited":false,"error":"127.0.0.1:27017: refused"}"#)
    }

    @Test("a topology change lists the servers that were added or changed and those removed, not the unchanged")
    func topologyChangeListsOnlyWhatChanged() {
        var primary = ServerDescription(address: a)
        primary.type = .rsPrimary
        primary.roundTripTimeMS = 0.5
        let b = ServerAddress(host: "127.0.0.1", port: 27018)
        let c = ServerAddress(host: "127.0.0.1", port: 27019)
        let d = ServerAddress(host: "127.0.0.1", port: 27020)
        var before = TopologyDescription(type: .replicaSetNoPrimary, setName: "rs")
        before.servers = [a: ServerDescription(address: a), c: ServerDescription(address: c), d: ServerDescription(address: d)]
        var after = before
        after.type = .replicaSetWithPrimary
        after.servers[a] = primary
        after.servers[b] = ServerDescription(address: b)
        after.servers[d] = nil
        let event = MonitoringEvent.sdam(.topologyDescriptionChanged(previous: before, new: after))
        #expect(event.name == "topologyDescriptionChanged")
        let json = JSONWriter.write(.object(event.jsonFields))
        #expect(json == #"{"previousType":"ReplicaSetNoPrimary","newType":"ReplicaSetWithPrimary","changedServers":[{"address":"127.0.0.1:27017","type":"RSPrimary","rttMS":0.500},{"address":"127.0.0.1:27018","type":"Unknown","rttMS":null}],"removedServers":["127.0.0.1:27020"]}"#)
        #expect(event.humanLine == "topologyDescriptionChanged ReplicaSetNoPrimary -> ReplicaSetWithPrimary [127.0.0.1:27017 RSPrimary 0.500 ms, 127.0.0.1:27018 Unknown, 127.0.0.1:27020 removed]")
    }

    @Test("a watch line: t and wall with six decimals, the event name, then the event's fields, and a newline")
    func jsonLineLeadsWithTimes() {
        var line = "previous line\n"
        MonitoringEvent.serverHeartbeatSucceeded(a, durationMS: 0.25, reply: ["ok": 1], awaited: false)
            .writeJSONLine(t: 1.5, wall: 1_796_180_915.777364, into: &line)
        #expect(line == "previous line\n" + #"{"t":1.500000,"wall":1796180915.777364,"event":"serverHeartbeatSucceeded","address":"127.0.0.1:27017","durationMS":0.250,"awaited":false}"# + "\n")
    }

    @Test(arguments: [(0.0, "0.000000"), (12.3456789, "12.345679"), (-0.5, "-0.500000"), (1_796_180_915.000001, "1796180915.000001")])
    func numbersWithSixDecimals(_ value: Double, _ text: String) {
        #expect(MonitoringEvent.format(value, decimals: 6) == text)
    }

    @Test func everyEventHasItsCamelCaseName() {
        let names = [
            MonitoringEvent.sdam(.topologyOpening), .sdam(.serverOpening(a)), .sdam(.serverClosed(a)),
            .sdam(.topologyClosed), .serverHeartbeatStarted(a, awaited: true),
            .serverHeartbeatSucceeded(a, durationMS: 1, reply: [:], awaited: true),
        ].map(\.name)
        #expect(names == ["topologyOpening", "serverOpening", "serverClosed", "topologyClosed", "serverHeartbeatStarted", "serverHeartbeatSucceeded"])
    }

    @Test(arguments: [(0.0, "0.000"), (1.5, "1.500"), (0.0004, "0.000"), (123.4567, "123.457"), (-0.25, "-0.250")])
    func numbersHaveThreeDecimals(_ value: Double, _ text: String) {
        #expect(MonitoringEvent.format(value) == text)
    }
}
