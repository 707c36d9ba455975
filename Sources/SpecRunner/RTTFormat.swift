import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The round-trip-time tests (`server-selection/tests/rtt`): one file is one case. A previous
/// average (`"NULL"` for none) and a new sample go in; the new weighted average comes out.
public struct RTTFormat: SpecFormat {
    public init() {}

    public var name: String { "rtt" }

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["avg_rtt_ms"] != nil && file.json["new_rtt_ms"] != nil && file.json["new_avg_rtt"] != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        [SpecCaseResult(file: file.path, name: file.stem, outcome: check(file.json))]
    }

    private func check(_ json: JSONValue) -> SpecOutcome {
        guard let sample = json["new_rtt_ms"]?.doubleValue, let expected = json["new_avg_rtt"]?.doubleValue else {
            return .failed("malformed test file: new_rtt_ms and new_avg_rtt must be numbers")
        }
        var estimator = RoundTripTimeEstimator()
        if let previous = json["avg_rtt_ms"]?.doubleValue {
            estimator.add(previous)  // the first sample is taken whole: this seeds the average
        } else if json["avg_rtt_ms"]?.stringValue != "NULL" {
            return .failed("malformed test file: avg_rtt_ms must be a number or \"NULL\"")
        }
        let actual = estimator.add(sample)
        // The expected values are written to two decimals; floating arithmetic is not exact.
        return abs(actual - expected) < 1e-9 ? .passed : .failed("expected average \(expected), got \(actual)")
    }
}
