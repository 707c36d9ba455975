import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport

/// The per-server check rhythm, driven with a hand-held clock.
@Suite struct CheckSchedulerTests {
    @Test func firstCheckIsImmediateThenEveryHeartbeatAfterTheEnd() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        #expect(s.start() == .startCheck)
        #expect(s.start() == .none, "starting twice does not start a second check")
        #expect(s.checkSucceeded(nowMS: 30) == .armTimer(dueAtMS: 10_030))
        #expect(s.timerFired(nowMS: 10_029) == .armTimer(dueAtMS: 10_030), "an early timer re-arms")
        #expect(s.timerFired(nowMS: 10_030) == .startCheck)
        #expect(s.checkSucceeded(nowMS: 10_040) == .armTimer(dueAtMS: 20_040))
    }

    @Test func heartbeatBelowTheMinimumIsRaisedTo500() {
        #expect(CheckScheduler(heartbeatFrequencyMS: 10).heartbeatFrequencyMS == 500)
    }

    @Test func hugeHeartbeatCannotOverflowTheSchedule() {
        var s = CheckScheduler(heartbeatFrequencyMS: .max)
        _ = s.start()
        #expect(s.checkSucceeded(nowMS: 1_000) == .armTimer(dueAtMS: 1_000 + CheckScheduler.maxHeartbeatFrequencyMS))
    }

    @Test func immediateRequestWaitsForTheMinimumSinceTheLastCheck() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        _ = s.checkSucceeded(nowMS: 1_000)
        #expect(s.requestImmediateCheck(nowMS: 1_200) == .armTimer(dueAtMS: 1_500))
        #expect(s.requestImmediateCheck(nowMS: 1_300) == .none, "requests coalesce")
        #expect(s.timerFired(nowMS: 1_500) == .startCheck)
    }

    @Test func immediateRequestLongAfterTheLastCheckStartsAtOnce() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        _ = s.checkSucceeded(nowMS: 1_000)
        #expect(s.requestImmediateCheck(nowMS: 4_000) == .startCheck)
        #expect(s.phase == .checking)
    }

    @Test func requestDuringACheckIsIgnored() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        #expect(s.requestImmediateCheck(nowMS: 5) == .none)
        #expect(s.checkSucceeded(nowMS: 10) == .armTimer(dueAtMS: 10_010), "the ignored request leaves no trace")
    }

    @Test func networkErrorOnAKnownServerRetriesOnceAtOnce() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        #expect(s.checkFailed(nowMS: 100, isNetworkError: true, serverWasKnown: true) == .startCheck)
        #expect(s.checkIsRetry)
        #expect(s.checkFailed(nowMS: 150, isNetworkError: true, serverWasKnown: false) == .armTimer(dueAtMS: 10_150))
    }

    @Test func retryThatFailsAgainWaitsEvenIfStillConsideredKnown() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        _ = s.checkFailed(nowMS: 100, isNetworkError: true, serverWasKnown: true)
        #expect(s.checkFailed(nowMS: 120, isNetworkError: true, serverWasKnown: true) == .armTimer(dueAtMS: 10_120))
    }

    @Test func commandErrorOrUnknownServerWaitsForTheHeartbeat() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        #expect(s.checkFailed(nowMS: 100, isNetworkError: false, serverWasKnown: true) == .armTimer(dueAtMS: 10_100))
        _ = s.timerFired(nowMS: 10_100)
        #expect(s.checkFailed(nowMS: 10_200, isNetworkError: true, serverWasKnown: false) == .armTimer(dueAtMS: 20_200))
    }

    @Test func stoppedSchedulerIgnoresEverything() {
        var s = CheckScheduler(heartbeatFrequencyMS: 10_000)
        _ = s.start()
        s.stop()
        #expect(s.checkSucceeded(nowMS: 1) == .none)
        #expect(s.requestImmediateCheck(nowMS: 1) == .none)
        #expect(s.timerFired(nowMS: 100_000) == .none)
    }

    /// Property: under any sequence of inputs, checks never overlap and no check starts sooner
    /// than 500 ms after the previous one ended, except the one retry after a network error.
    @Test func randomInputsKeepTheRhythm() {
        var rng = SplitMix64(seed: 0x5DA4)
        for _ in 0..<200 {
            var s = CheckScheduler(heartbeatFrequencyMS: Int64(500 + rng.next() % 20_000))
            var now: Int64 = 0
            var inFlight = false
            var lastEnd: Int64?
            var retryAllowed = false
            func apply(_ action: CheckScheduler.Action) {
                if action == .startCheck {
                    #expect(!inFlight, "checks overlap")
                    if let lastEnd, !retryAllowed {
                        #expect(now - lastEnd >= 500, "check started \(now - lastEnd) ms after the last")
                    }
                    inFlight = true
                }
                retryAllowed = false
            }
            apply(s.start())
            for _ in 0..<300 {
                now += Int64(rng.next() % 3_000)
                switch rng.next() % 4 {
                case 0: apply(s.timerFired(nowMS: now))
                case 1: apply(s.requestImmediateCheck(nowMS: now))
                case 2 where inFlight:
                    inFlight = false
                    lastEnd = now
                    apply(s.checkSucceeded(nowMS: now))
                case 3 where inFlight:
                    inFlight = false
                    lastEnd = now
                    let wasRetry = s.checkIsRetry
                    let network = rng.next() % 2 == 0
                    let known = rng.next() % 2 == 0
                    retryAllowed = network && known && !wasRetry
                    apply(s.checkFailed(nowMS: now, isNetworkError: network, serverWasKnown: known))
                default: break
                }
            }
        }
    }
}
