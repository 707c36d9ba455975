import Testing
import PoolMonitor

/// Expects `text` to be rejected with exactly `message`, recording an issue at the caller's
/// line otherwise.
func expectConnectionStringError(
    _ text: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let parsed = try ConnectionString(text)
        Issue.record("expected an error for \(text), parsed \(parsed)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.description == message, sourceLocation: sourceLocation)
    }
}
