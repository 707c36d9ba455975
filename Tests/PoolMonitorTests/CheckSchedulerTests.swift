import Testing
@testable import MongoBSON
@testable import SDAMCore
import TestSupport

/// When each check of a server runs (the rules `CheckScheduler` kept before the whole cycle
/// became one value, `ServerCheckCycle`), driven with a hand-held clock.
@Suite struct CheckSchedulerTests {
    typealias F = CycleFixtures
    typealias Cycle = F.Cycle

    @Test func firstCheckIsImmediateThenEveryHeartbeatAfterTheEnd() {
        var c = F.cycle()
        #expect(c.start() == [.startCheck])
        #expect(c.start() == [], "starting twice does not start a second check")
        let reply = c.connectAndHandshake(atMS: 0, replyMS: 30)
        #expect(reply.last == .armScheduleTimer(at: F.ms(10_030)))
        #expect(c.scheduleTimerFired(at: F.ms(10_029)) == [.armScheduleTimer(at: F.ms(10_030))], "an early timer re-arms")
        #expect(c.scheduleTimerFired(at: F.ms(10_030)) == [.startCheck])
        _ = c.begin(atMS: 10_030)
        #expect(c.replyReceived(.init(document: F.hello()), at: F.ms(10_040)).last == .armScheduleTimer(at: F.ms(20_040)))
    }

    @Test func heartbeatBelowTheMinimumIsRaisedTo500() {
        #expect(F.cycle(heartbeatMS: 10).configuration.heartbeatFrequencyMS == 500)
    }

    @Test func hugeHeartbeatCannotOverflowTheSchedule() {
        var c = F.cycle(heartbeatMS: .max)
        let actions = c.firstCheck(replyMS: 1_000)
        #expect(actions.last == .armScheduleTimer(at: F.ms(1_000) + UInt64(Cycle.maxHeartbeatFrequencyMS) * 1_000_000))
    }

    @Test func immediateRequestWaitsForTheMinimumSinceTheLastCheck() {
        var c = F.cycle()
        c.firstCheck(replyMS: 1_000)
        #expect(c.immediateCheckRequested(at: F.ms(1_200)) == [.armScheduleTimer(at: F.ms(1_500))])
        #expect(c.immediateCheckRequested(at: F.ms(1_300)) == [], "requests coalesce")
        #expect(c.scheduleTimerFired(at: F.ms(1_500)) == [.startCheck])
    }

    @Test func immediateRequestLongAfterTheLastCheckStartsAtOnce() {
        var c = F.cycle()
        c.firstCheck(replyMS: 1_000)
        #expect(c.immediateCheckRequested(at: F.ms(4_000)) == [.stopScheduleTimer, .startCheck])
        #expect(c.begin(atMS: 4_000) == [.publishHeartbeatStarted(awaited: false), .armTimeoutTimer(at: F.ms(5_000)), .sendHello(useHello: true)])
    }

    @Test func requestDuringACheckIsIgnored() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        #expect(c.immediateCheckRequested(at: F.ms(5)) == [])
        _ = c.addressesResolved(["10.0.0.1"], at: F.ms(5))
        _ = c.connected(at: F.ms(5))
        #expect(c.replyReceived(.init(document: F.hello()), at: F.ms(10)).last == .armScheduleTimer(at: F.ms(10_010)),
                "the ignored request leaves no trace")
    }

    @Test func networkErrorOnAKnownServerRetriesOnceAtOnce() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        _ = c.begin(.standalone, atMS: 10_030)
        #expect(c.connectionFailed(.closedByPeer("gone"), at: F.ms(10_100)).last == .startCheck)
        // The retry finds the server Unknown (the failure was applied first) and fails too.
        _ = c.begin(.unknown, atMS: 10_100)
        _ = c.resolutionFailed("no such host", at: F.ms(10_150))
        #expect(c.immediateCheckRequested(at: F.ms(10_151)) == [.armScheduleTimer(at: F.ms(10_650))], "the retry's end counts for the floor")
    }

    @Test func retryThatFailsAgainWaitsEvenIfStillConsideredKnown() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        _ = c.begin(.standalone, atMS: 10_030)
        _ = c.connectionFailed(.ioFailed("reset"), at: F.ms(10_100))
        _ = c.begin(.standalone, atMS: 10_100)
        _ = c.addressesResolved(["10.0.0.1"], at: F.ms(10_100))
        #expect(c.connectionFailed(.connectFailed("refused"), at: F.ms(10_120)).last == .armScheduleTimer(at: F.ms(20_120)))
    }

    @Test func commandErrorOrUnknownServerWaitsForTheHeartbeat() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        _ = c.begin(.standalone, atMS: 10_030)
        let commandError = c.replyReceived(.init(document: F.commandError), at: F.ms(10_100))
        #expect(commandError.last == .armScheduleTimer(at: F.ms(20_100)), "a command error earns no retry")
        #expect(commandError.contains(.closeConnection))
        _ = c.scheduleTimerFired(at: F.ms(20_100))
        _ = c.begin(.unknown, atMS: 20_100)
        #expect(c.resolutionFailed("no such host", at: F.ms(20_200)).last == .armScheduleTimer(at: F.ms(30_200)),
                "a network error on an Unknown server earns no retry")
    }

    @Test func stoppedCycleIgnoresEverything() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.stop(at: F.ms(40))
        #expect(c.replyReceived(.init(document: F.hello()), at: F.ms(50)) == [])
        #expect(c.immediateCheckRequested(at: F.ms(1_000)) == [])
        #expect(c.scheduleTimerFired(at: F.ms(100_000)) == [])
        #expect(c.timeoutTimerFired(at: F.ms(100_000)) == [])
        #expect(c.cancel(at: F.ms(100_000)) == [])
        #expect(c.stop(at: F.ms(100_000)) == [])
    }

    /// Property: under any sequence of inputs, checks never overlap and no check starts sooner
    /// than 500 ms after the previous one ended, except the one retry after a network error.
    @Test func randomInputsKeepTheRhythm() {
        var rng = SplitMix64(seed: 0x5DA4)
        for _ in 0..<200 {
            var c = F.cycle(heartbeatMS: Int64(500 + rng.next() % 20_000), connectTimeoutMS: Int64(rng.next() % 3_000))
            var now: UInt64 = 0
            var inFlight = false
            var lastEnd: UInt64?
            var retryAllowed = false
            var known = false
            /// What the check in flight waits for.
            enum Awaits { case nothing, addresses, connect, reply }
            var awaits = Awaits.nothing

            func run(_ actions: [F.Action]) {
                for action in actions {
                    switch action {
                    case .startCheck:
                        #expect(!inFlight, "checks overlap")
                        if let lastEnd, !retryAllowed {
                            #expect(now - lastEnd >= F.ms(500), "check started \((now - lastEnd) / 1_000_000) ms after the last")
                        }
                        inFlight = true
                        retryAllowed = false
                        run(c.beginCheck(serverType: known ? .standalone : .unknown, cancellations: 0, at: now))
                    case .resolve: awaits = .addresses
                    case .connect: awaits = .connect
                    case .sendHandshake, .sendHello: awaits = .reply
                    case .applyDescription(let description, let failed, _, _):
                        inFlight = false
                        lastEnd = now
                        retryAllowed = failed && known && description.error?.contains("not now") == false
                        known = !failed
                        awaits = .nothing
                    default: break
                    }
                }
            }
            run(c.start())
            for _ in 0..<300 {
                now += F.ms(rng.next() % 3_000)
                switch rng.next() % 6 {
                case 0: run(c.scheduleTimerFired(at: now))
                case 1: run(c.immediateCheckRequested(at: now))
                case 2: run(c.timeoutTimerFired(at: now))
                case 3 where awaits == .addresses: run(c.addressesResolved(["a", "b"], at: now))
                case 3 where awaits == .connect: run(c.connected(at: now))
                case 3 where awaits == .reply:
                    run(c.replyReceived(.init(document: rng.next() % 4 == 0 ? F.commandError : F.hello()), at: now))
                case 4: run(c.connectionFailed(.closedByPeer("gone"), at: now))
                case 5 where awaits == .addresses: run(c.resolutionFailed("no such host", at: now))
                default: break
                }
            }
        }
    }
}
