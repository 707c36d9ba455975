import Glibc

/// How much slower than a plain build the tests run: `scripts/sanitize.sh` sets
/// `SDAM_SANITIZER` (ThreadSanitizer slows this code 5–15 times), and a latency bound meant for a
/// plain build is multiplied by `factor` there. Bounds that guard a hang, not a latency, need none.
public enum TimingBudget {
    public static let factor: Double = getenv("SDAM_SANITIZER") == nil ? 1 : 10

    /// `milliseconds`, stretched under a sanitizer.
    public static func ms(_ milliseconds: Double) -> Double { milliseconds * factor }
}
