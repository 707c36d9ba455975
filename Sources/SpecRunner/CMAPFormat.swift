/// The connection-monitoring-and-pooling format (`style: unit` or `integration`, `operations`, `events`)
/// drives a CMAP connection pool and checks its events. This project's per-server connection
/// pool and its CMAP events are part of the client pool work; until then every file is counted
/// as one skipped case, with that reason.
public struct CMAPFormat: SpecFormat {
    public init() {}

    public var name: String { "cmap-format" }

    public func recognizes(_ file: SpecFile) -> Bool {
        file.json["style"]?.stringValue != nil && file.json["operations"] != nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let reason = file.json["style"]?.stringValue == "integration"
            ? "CMAP integration format: needs a live server with fail points and the CMAP connection pool, not implemented yet"
            : "CMAP unit format: needs the CMAP connection pool and its events, not implemented yet"
        return [SpecCaseResult(file: file.path, name: file.json["description"]?.stringValue ?? file.stem, outcome: .skipped(reason))]
    }
}
