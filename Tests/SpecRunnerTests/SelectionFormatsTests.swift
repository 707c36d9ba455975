import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import SpecRunner

/// The server-selection, RTT and in-window formats: recognised by their keys wherever the file
/// lives, and a wrong or malformed file is a failure with a reason, never a crash.
@Suite struct SelectionFormatsTests {
    func file(_ text: String, path: String = "/tmp/anywhere/case.json") throws -> SpecFile {
        SpecFile(path: path, json: try JSONParser.parse(text))
    }

    static let topology = #"{"type": "ReplicaSetWithPrimary", "servers": [{"address": "a:27017", "avg_rtt_ms": 5, "type": "RSPrimary", "maxWireVersion": 21}, {"address": "b:27017", "avg_rtt_ms": 5, "type": "RSSecondary", "maxWireVersion": 21}]}"#

    @Test func eachFormatRecognisesItsKeysOutsideItsFolder() throws {
        let selection = try file(#"{"topology_description": \#(Self.topology), "operation": "read", "read_preference": {"mode": "Secondary"}, "suitable_servers": [], "in_latency_window": []}"#)
        let rtt = try file(#"{"avg_rtt_ms": "NULL", "new_rtt_ms": 1, "new_avg_rtt": 1}"#)
        let window = try file(#"{"topology_description": \#(Self.topology), "mocked_topology_state": [], "iterations": 10, "outcome": {"tolerance": 0, "expected_frequencies": {}}}"#)
        #expect(ServerSelectionFormat().recognizes(selection) && !ServerSelectionFormat().recognizes(rtt) && !ServerSelectionFormat().recognizes(window))
        #expect(RTTFormat().recognizes(rtt) && !RTTFormat().recognizes(selection))
        #expect(InWindowFormat().recognizes(window) && !InWindowFormat().recognizes(selection))
    }

    @Test func wrongExpectationFailsWithBothSets() throws {
        let selection = try file(#"{"topology_description": \#(Self.topology), "operation": "read", "read_preference": {"mode": "Secondary"}, "suitable_servers": [{"address": "a:27017"}], "in_latency_window": []}"#)
        let outcome = ServerSelectionFormat().run(selection).first?.outcome
        #expect(outcome == .failed("suitable_servers: expected [a:27017], got [b:27017]; in_latency_window: expected [], got [b:27017]"))
    }

    @Test func expectedErrorThatDoesNotComeFails() throws {
        let selection = try file(#"{"topology_description": \#(Self.topology), "read_preference": {"mode": "Nearest", "maxStalenessSeconds": 120}, "error": true}"#)
        #expect(ServerSelectionFormat().run(selection).first?.outcome == .failed("expected an error, got suitable [a:27017]"))
    }

    @Test func malformedFilesFailWithAReason() throws {
        let badType = try file(#"{"topology_description": {"type": "Galaxy", "servers": []}, "suitable_servers": []}"#)
        #expect(ServerSelectionFormat().run(badType).first?.outcome == .failed("malformed test file: unknown topology type Galaxy"))
        let badMode = try file(#"{"topology_description": \#(Self.topology), "read_preference": {"mode": "Everywhere"}, "suitable_servers": []}"#)
        #expect(ServerSelectionFormat().run(badMode).first?.outcome == .failed("malformed test file: unknown read preference mode Everywhere"))
        let badRTT = try file(#"{"avg_rtt_ms": "zero", "new_rtt_ms": 1, "new_avg_rtt": 1}"#)
        #expect(RTTFormat().run(badRTT).first?.outcome == .failed(#"malformed test file: avg_rtt_ms must be a number or "NULL""#))
        let badWindow = try file(#"{"topology_description": \#(Self.topology), "mocked_topology_state": [], "iterations": -1, "outcome": {"tolerance": 0, "expected_frequencies": {}}}"#)
        #expect(InWindowFormat().run(badWindow).first?.outcome == .failed("malformed test file: iterations must be a positive integer"))
    }

    @Test func inWindowChecksExactFrequencies() throws {
        let window = try file(#"{"topology_description": \#(Self.topology), "mocked_topology_state": [{"address": "a:27017", "operation_count": 0}, {"address": "b:27017", "operation_count": 9}], "iterations": 50, "outcome": {"tolerance": 0, "expected_frequencies": {"a:27017": 0, "b:27017": 1}}}"#)
        #expect(InWindowFormat().run(window).first?.outcome == .failed("a:27017: expected 0.0, observed 1.0; b:27017: expected 1.0, observed 0.0"))
    }
}
