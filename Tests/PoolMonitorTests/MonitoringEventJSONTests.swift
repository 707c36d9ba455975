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

    @Test func topologyChangeListsServersWithTypeAndRTT() {
        var primary = ServerDescription(address: a)
        primary.type = .rsPrimary
        primary.roundTripTimeMS = 0.5
        let b = ServerAddress(host: "127.0.0.1", port: 27018)
        var after = TopologyDescription(type: .replicaSetWithPrimary, setName: "rs")
        after.servers = [a: primary, b: ServerDescription(address: b)]
        let event = MonitoringEvent.sdam(.topologyDescriptionChanged(previous: TopologyDescription(type: .replicaSetNoPrimary), new: after))
        #expect(event.name == "topologyDescriptionChanged")
        let json = JSONWriter.write(.object(event.jsonFields))
        #expect(json == #"{"previousType":"ReplicaSetNoPrimary","newType":"ReplicaSetWithPrimary","servers":[{"address":"127.0.0.1:27017","type":"RSPrimary","rttMS":0.500},{"address":"127.0.0.1:27018","type":"Unknown","rttMS":null}]}"#)
        #expect(event.humanLine.contains("ReplicaSetNoPrimary -> ReplicaSetWithPrimary"))
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
