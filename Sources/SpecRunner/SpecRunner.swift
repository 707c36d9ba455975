import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Runs every JSON spec test file under some paths, detecting each file's format.
public struct SpecRunner: Sendable {
    public var formats: [any SpecFormat]

    public init(formats: [any SpecFormat] = SpecFormats.all) {
        self.formats = formats
    }

    /// Totals of a run.
    public struct Summary: Sendable {
        public var results: [SpecCaseResult] = []

        public var passed: Int { results.filter { $0.outcome == .passed }.count }
        public var failed: Int { results.filter { if case .failed = $0.outcome { true } else { false } }.count }
        public var skipped: Int { results.filter { if case .skipped = $0.outcome { true } else { false } }.count }

        /// The closing line: `N passed, M failed, K skipped`.
        public var closingLine: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }
    }

    /// Why a path could not be run at all.
    public struct PathError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Every `.json` file under `path` (or `path` itself), sorted for a stable order.
    public static func jsonFiles(under path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw PathError(description: "no such file or folder: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let enumerator = FileManager.default.enumerator(atPath: path) else {
            throw PathError(description: "cannot list folder: \(path)")
        }
        var files: [String] = []
        while let relative = enumerator.nextObject() as? String {
            if relative.hasSuffix(".json") { files.append(path + "/" + relative) }
        }
        return files.sorted()
    }

    /// Runs one file. A file that cannot be read, parsed or recognised counts as one failed case.
    public func run(file path: String) -> [SpecCaseResult] {
        guard let data = FileManager.default.contents(atPath: path) else {
            return [SpecCaseResult(file: path, name: "(file)", outcome: .failed("cannot read file"))]
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(data))
        } catch {
            return [SpecCaseResult(file: path, name: "(file)", outcome: .failed("\(error)"))]
        }
        let file = SpecFile(path: path, json: json)
        guard let format = formats.first(where: { $0.recognizes(file) }) else {
            return [SpecCaseResult(file: path, name: "(file)", outcome: .failed("format not recognised"))]
        }
        return format.run(file)
    }

    /// Runs every file under every path; `report` sees each result as it comes.
    public func run(paths: [String], report: (SpecCaseResult) -> Void = { _ in }) throws -> Summary {
        var summary = Summary()
        defer { for format in formats { format.finish() } }
        for path in paths {
            for file in try SpecRunner.jsonFiles(under: path) {
                for result in run(file: file) {
                    report(result)
                    summary.results.append(result)
                }
            }
        }
        return summary
    }

    /// The folder of the official spec data: `MONGO_SPECS_DIR` when set, else the first
    /// `shared/specs` found beside `start` or one of its ancestors (`../shared/specs` from a
    /// clone next to `shared/`, as CI lays it out).
    public static func defaultSpecsDirectory(packageRoot start: String) -> String {
        if let env = ProcessInfo.processInfo.environment["MONGO_SPECS_DIR"], !env.isEmpty { return env }
        var folder = URL(fileURLWithPath: start).standardizedFileURL
        while true {
            let candidate = folder.appendingPathComponent("shared/specs").path
            if FileManager.default.fileExists(atPath: candidate) { return candidate }
            let parent = folder.deletingLastPathComponent()
            if parent.path == folder.path { return start + "/../shared/specs" }
            folder = parent
        }
    }
}
