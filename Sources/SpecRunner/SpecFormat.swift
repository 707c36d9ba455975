import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The outcome of one spec test case.
public enum SpecOutcome: Sendable, Equatable {
    case passed
    /// What was expected and what came instead.
    case failed(String)
    /// Why the case is not run (an option we deliberately do not support, ...).
    case skipped(String)
}

/// One counted test case: a named entry of a file's case array, or a whole file where the
/// format's unit is the file (SDAM, server selection, max staleness).
public struct SpecCaseResult: Sendable {
    public var file: String
    public var name: String
    public var outcome: SpecOutcome

    public init(file: String, name: String, outcome: SpecOutcome) {
        self.file = file
        self.name = name
        self.outcome = outcome
    }
}

/// A parsed spec test file handed to a format.
public struct SpecFile: Sendable {
    /// Path as given on the command line (for messages).
    public var path: String
    public var json: JSONValue

    public init(path: String, json: JSONValue) {
        self.path = path
        self.json = json
    }

    /// The file name without its folder and extension.
    public var stem: String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.hasSuffix(".json") ? String(name.dropLast(5)) : name
    }

    /// The path's folder names, to tell formats apart where content is ambiguous.
    public var folders: [String] {
        path.split(separator: "/").dropLast().map(String.init)
    }
}

/// A format of the official spec tests: recognises its files and runs their cases.
public protocol SpecFormat: Sendable {
    /// A short name for messages ("bson-corpus", "sdam").
    var name: String { get }
    /// Whether `file` is in this format, judged from its content and, where content is
    /// ambiguous, its folder.
    func recognizes(_ file: SpecFile) -> Bool
    /// Runs every case of the file.
    func run(_ file: SpecFile) -> [SpecCaseResult]
    /// Called once after the last file of a run: stops what the format started for it.
    func finish()
}

extension SpecFormat {
    public func finish() {}
}
