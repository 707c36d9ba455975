import Testing
@testable import SDAMCore

/// The client-backpressure spec's retry policy and token bucket, without sockets.
@Suite struct OverloadRetryPolicyTests {
    let overload = [OverloadRetryPolicy.systemOverloadedLabel, OverloadRetryPolicy.retryableLabel]

    @Test func onlyErrorsWithBothLabelsAreRetried() {
        let policy = OverloadRetryPolicy()
        #expect(policy.decide(afterAttempt: 0, labels: ["SystemOverloadedError"], jitter: 0.5) == .fail)
        #expect(policy.decide(afterAttempt: 0, labels: ["RetryableError"], jitter: 0.5) == .fail)
        #expect(policy.decide(afterAttempt: 0, labels: ["RetryableWriteError"], jitter: 0.5) == .fail)
        #expect(policy.decide(afterAttempt: 0, labels: overload, jitter: 0.5) == .retry(after: .milliseconds(50)))
    }

    @Test func backoffDoublesFromTheBaseUpToTenSecondsTimesTheJitter() {
        let policy = OverloadRetryPolicy(maxAttempts: 10)
        let full = (0..<10).map { policy.decide(afterAttempt: $0, labels: overload, jitter: 1) }
        let expected: [OverloadRetryPolicy.Decision] = [100, 200, 400, 800, 1_600].map { .retry(after: .milliseconds($0)) }
        #expect(Array(full.prefix(5)) == expected)
        #expect(full[7] == .retry(after: .milliseconds(10_000)), "capped at maxBackoff")
        #expect(policy.decide(afterAttempt: 0, labels: overload, jitter: 0) == .retry(after: .zero))
        #expect(policy.decide(afterAttempt: 1, labels: overload, baseBackoffMS: 30, jitter: 1) == .retry(after: .milliseconds(60)),
                "the server's baseBackoffMS replaces the base")
    }

    @Test func atMostMaxAttemptsRetries() {
        let policy = OverloadRetryPolicy(maxAttempts: 2)
        #expect(policy.decide(afterAttempt: 1, labels: overload, jitter: 0) != .fail)
        #expect(policy.decide(afterAttempt: 2, labels: overload, jitter: 0) == .fail)
        #expect(OverloadRetryPolicy(maxAttempts: 0).decide(afterAttempt: 0, labels: overload, jitter: 0) == .fail)
    }

    @Test func depositsAndTheBucket() {
        #expect(OverloadRetryPolicy.deposit(succeeded: true, attempt: 0, labels: []) == 0.1)
        #expect(OverloadRetryPolicy.deposit(succeeded: true, attempt: 2, labels: []) == 1.1)
        #expect(OverloadRetryPolicy.deposit(succeeded: false, attempt: 1, labels: ["RetryableWriteError"]) == 1)
        #expect(OverloadRetryPolicy.deposit(succeeded: false, attempt: 1, labels: overload) == 0)
        #expect(OverloadRetryPolicy.deposit(succeeded: false, attempt: 0, labels: []) == 0)
        var bucket = RetryTokenBucket(capacity: 2)
        let first = bucket.consume(), second = bucket.consume(), third = bucket.consume()
        #expect(first && second)
        #expect(!third, "an empty bucket refuses the retry")
        bucket.deposit(5)
        #expect(bucket.tokens == 2, "never above capacity")
    }
}
