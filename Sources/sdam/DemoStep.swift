import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// One line of the demo's timeline: when (milliseconds since the story started, monotonic
/// clock), in which act of the story, what happened, and the figures behind it.
struct DemoStep: Sendable {
    enum Phase: String, Sendable {
        case setup, startup, discovery, steady, crisis, resolution, cleanup
    }

    var tMS: Double
    var phase: Phase
    /// A stable camelCase name for machines (`primaryFound`, `writeWaited`, ...).
    var name: String
    /// The sentence a person reads.
    var message: String
    /// The figures, for `--json`.
    var fields: [(String, JSONValue)] = []

    /// `t=   12.3 ms  discovery   primary found: ...`
    var humanLine: String {
        let t = String(format: "t=%9.1f ms", tMS)
        return "\(t)  \(phase.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(message)"
    }

    /// One JSON object: `t_ms`, `phase`, `step`, `message`, then the figures.
    var jsonLine: String {
        var members: [(String, JSONValue)] = [
            ("t_ms", .number(String(format: "%.3f", tMS))),
            ("phase", .string(phase.rawValue)),
            ("step", .string(name)),
            ("message", .string(message)),
        ]
        members += fields
        return JSONWriter.write(.object(members))
    }
}

extension JSONValue {
    /// A number with three decimals (milliseconds keep microseconds).
    static func milliseconds(_ value: Double) -> JSONValue { .number(String(format: "%.3f", value)) }
    static func integer(_ value: Int) -> JSONValue { .number(String(value)) }
}
