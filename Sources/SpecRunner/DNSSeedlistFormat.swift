import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The initial DNS seedlist discovery format: a `mongodb+srv://` `uri` with the `seeds` and
/// `hosts` its SRV and TXT records should produce.
///
/// Cases that expect an error the connection-string parser must raise by itself (a port in an
/// SRV URI, several hosts, ...) are run. The rest need the records of `*.test.build.10gen.cc`
/// served by a local DNS server, and SRV resolution, which this driver does not have yet: they
/// are skipped with that reason.
public struct DNSSeedlistFormat: SpecFormat {
    public init() {}

    public var name: String { "initial-dns-seedlist-discovery" }

    public func recognizes(_ file: SpecFile) -> Bool {
        guard let uri = file.json["uri"]?.stringValue else { return false }
        return uri.hasPrefix("mongodb+srv://") && file.json["tests"] == nil && file.json["phases"] == nil
    }

    public func run(_ file: SpecFile) -> [SpecCaseResult] {
        let uri = file.json["uri"]?.stringValue ?? ""
        let expectsError = file.json["error"]?.boolValue == true
        func result(_ outcome: SpecOutcome) -> [SpecCaseResult] {
            [SpecCaseResult(file: file.path, name: file.stem, outcome: outcome)]
        }
        let parseError: String?
        do {
            _ = try ConnectionString(uri)
            parseError = nil
        } catch {
            parseError = error.description
        }
        if expectsError, parseError != nil { return result(.passed) }
        if let parseError {
            return result(.failed("expected \(uri) to parse (the test expects DNS results), got: \(parseError)"))
        }
        let reason = expectsError
            ? "the expected error comes from the SRV/TXT records, which need a local DNS server and SRV resolution (not implemented yet)"
            : "needs SRV/TXT records served by a local DNS server and SRV resolution (not implemented yet)"
        return result(.skipped(reason))
    }
}
