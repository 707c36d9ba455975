import Testing
@testable import MongoBSON
@testable import SDAMCore

/// What a single-threaded client's scan needs of the check cycle: a count of ended checks and
/// the outcome of the last, no retry after a timeout (the scan's bound stays connectTimeoutMS),
/// and an open connection kept through backpressure.
@Suite struct SingleThreadedCycleTests {
    typealias F = CycleFixtures
    typealias Cycle = F.Cycle

    static func singleThreadedCycle() -> Cycle {
        Cycle(server: F.server, configuration: .init(
            heartbeatFrequencyMS: Cycle.maxHeartbeatFrequencyMS, connectTimeoutMS: 1_000, streamingEnabled: false,
            retriesAfterTimeout: false))
    }

    @Test func checksCompletedAndTheOutcomeFollowEachCheck() {
        var c = Self.singleThreadedCycle()
        #expect(c.checksCompleted == 0 && c.lastCheckOutcome == nil && !c.isCheckInFlight)
        _ = c.start()
        #expect(c.isCheckInFlight, "a started check is in flight before beginCheck")
        c.connectAndHandshake(atMS: 0, replyMS: 5)
        #expect(c.checksCompleted == 1 && c.lastCheckOutcome == .succeeded && !c.isCheckInFlight)
        #expect(c.immediateCheckRequested(at: F.ms(600)) == [.stopScheduleTimer, .startCheck])
        _ = c.begin(.standalone, atMS: 600)
        _ = c.replyReceived(.init(document: F.commandError), at: F.ms(610))
        #expect(c.checksCompleted == 2 && c.lastCheckOutcome == .failed(networkError: false))
    }

    @Test func aKnownServerWhoseCheckTimedOutIsNotRetriedWhenRetriesAfterTimeoutAreOff() {
        var c = Self.singleThreadedCycle()
        c.firstCheck(replyMS: 5)
        _ = c.immediateCheckRequested(at: F.ms(600))
        _ = c.begin(.standalone, atMS: 600)
        let failed = c.timeoutTimerFired(at: F.ms(1_600))
        #expect(Cycle.applied(failed)?.checkFailed == true)
        #expect(failed.last != .startCheck, "no retry after a timeout: \(failed)")
        #expect(!c.isCheckInFlight && c.lastCheckOutcome == .failed(networkError: true))
    }

    @Test func aConnectThatTimedOutOnEveryAddressIsNotRetriedEither() {
        var c = Self.singleThreadedCycle()
        c.firstCheck(replyMS: 5)
        _ = c.cancel(at: F.ms(10))   // the connection is gone: the next check connects anew
        _ = c.immediateCheckRequested(at: F.ms(600))
        _ = c.begin(.standalone, atMS: 600)
        _ = c.addressesResolved(["10.0.0.1"], at: F.ms(600))
        let failed = c.timeoutTimerFired(at: F.ms(1_600))
        #expect(Cycle.applied(failed)?.checkFailed == true)
        #expect(failed.last != .startCheck)
    }

    @Test func aResetStillEarnsTheOneRetry() {
        var c = Self.singleThreadedCycle()
        c.firstCheck(replyMS: 5)
        _ = c.immediateCheckRequested(at: F.ms(600))
        _ = c.begin(.standalone, atMS: 600)
        let failed = c.connectionFailed(.closedByPeer("reset"), at: F.ms(601))
        #expect(failed.last == .startCheck, "a known server whose connection was reset is retried at once")
        #expect(c.isCheckInFlight)
    }

    @Test func anOverloadedReplyKeepsTheConnectionAndTheDescription() {
        var c = Self.singleThreadedCycle()
        c.firstCheck(replyMS: 5)
        _ = c.immediateCheckRequested(at: F.ms(600))
        _ = c.begin(.standalone, atMS: 600)
        let overloaded: BSONDocument = [
            "ok": .double(0), "errmsg": .string("shedding load"), "code": .int32(462),
            "errorLabels": .array([.string("SystemOverloadedError"), .string("RetryableError")]),
        ]
        let actions = c.replyReceived(.init(document: overloaded), at: F.ms(610))
        #expect(!actions.contains(.closeConnection), "backpressure must not close the connection")
        #expect(Cycle.applied(actions) == nil, "nor change the topology")
        #expect(actions.contains { if case .publishHeartbeatFailed = $0 { true } else { false } })
        #expect(c.lastCheckOutcome == .overloaded && c.connectedAddress == "10.0.0.1")
        #expect(c.immediateCheckRequested(at: F.ms(1_200)) == [.stopScheduleTimer, .startCheck])
        #expect(c.begin(.standalone, atMS: 1_200).last == .sendHello(useHello: true), "the next check uses the same connection")
    }
}
