import Testing
@testable import MongoBSON
@testable import SDAMCore

/// A server that answers awaitable hellos at once with nothing new (it ignores maxAwaitTimeMS):
/// two such answers in a row make the monitor poll that server process on the open connection,
/// without an RTT connection, until a reply shows another process.
@Suite struct StreamingRefusedTests {
    typealias F = CycleFixtures
    typealias Cycle = F.Cycle

    /// Streams from a server of process A: the handshake at 30 ms, the awaitable hello sent.
    static func streaming() -> Cycle {
        var c = F.cycle(streaming: true)
        c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        _ = c.begin(atMS: 30)
        return c
    }

    @Test func twoQuickUnchangedAnswersInARowMakeTheMonitorPollOnTheOpenConnection() {
        var c = Self.streaming()
        let first = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(40))
        #expect(!first.contains(.closeConnection))
        #expect(first.last == .startCheck, "one quick answer may be chance: streaming goes on")
        #expect(c.begin(atMS: 40).last == .sendAwaitableHello(useHello: true, topologyVersion: F.version(F.processA), maxAwaitTimeMS: 10_000))
        let second = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(50))
        #expect(!second.contains(.closeConnection), "the open connection is kept")
        #expect(second.contains(.stopRTTMeasurement))
        #expect(second.last == .armScheduleTimer(at: F.ms(10_050)), "polling sleeps heartbeatFrequencyMS")
        #expect(c.scheduleTimerFired(at: F.ms(10_050)) == [.startCheck])
        #expect(c.begin(atMS: 10_050) == [.publishHeartbeatStarted(awaited: false), .armTimeoutTimer(at: F.ms(11_050)), .sendHello(useHello: true)],
                "a regular hello on the open connection: no reconnect, no handshake")
        let polled = c.replyReceived(.init(document: F.hello(processId: F.processA, counter: 1)), at: F.ms(10_060))
        #expect(polled.last == .armScheduleTimer(at: F.ms(20_060)), "the same process stays polled, even with a new counter")
    }

    @Test func replyFromAnotherProcessLetsStreamingBeTriedAgain() {
        var c = Self.streaming()
        _ = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(40))
        _ = c.begin(atMS: 40)
        _ = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(50))
        _ = c.scheduleTimerFired(at: F.ms(10_050))
        _ = c.begin(atMS: 10_050)
        // The server restarted behind the same connection (or a new one was opened): a new
        // process may honour maxAwaitTimeMS.
        let restarted = c.replyReceived(.init(document: F.hello(processId: F.processB)), at: F.ms(10_060))
        #expect(restarted.last == .startCheck)
        #expect(c.begin(atMS: 10_060) == [
            .publishHeartbeatStarted(awaited: true), .armTimeoutTimer(at: F.ms(21_060)),
            .sendAwaitableHello(useHello: true, topologyVersion: F.version(F.processB), maxAwaitTimeMS: 10_000),
            .startRTTMeasurement,
        ])
    }

    @Test func aSlowAnswerOrANewCounterBetweenQuickOnesKeepsStreaming() {
        var c = Self.streaming()
        _ = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(40))
        _ = c.begin(atMS: 40)
        // Answered after the whole maxAwaitTimeMS: the server honours it.
        #expect(c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(10_040)).last == .startCheck)
        _ = c.begin(atMS: 10_040)
        #expect(c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(10_050)).last == .startCheck)
        _ = c.begin(atMS: 10_050)
        // A quick answer with a new counter is news, not impatience.
        #expect(c.replyReceived(.init(document: F.hello(processId: F.processA, counter: 1)), at: F.ms(10_060)).last == .startCheck)
        #expect(c.begin(atMS: 10_060).last == .sendAwaitableHello(
            useHello: true, topologyVersion: F.version(F.processA, 1), maxAwaitTimeMS: 10_000))
    }

    /// An exhaust stream that pushes unchanged replies at once cannot be stopped on its
    /// connection: that one is closed, and the server is polled on a new one.
    @Test func quickExhaustRepliesCloseTheStream() {
        var c = Self.streaming()
        _ = c.replyReceived(.init(document: F.hello(processId: F.processA), moreToCome: true), at: F.ms(40))
        #expect(c.begin(atMS: 40).last == .expectNextExhaustReply)
        let second = c.replyReceived(.init(document: F.hello(processId: F.processA), moreToCome: true), at: F.ms(41))
        #expect(second.contains(.closeConnection))
        #expect(second.contains(.stopRTTMeasurement))
        #expect(second.last == .armScheduleTimer(at: F.ms(10_041)))
        _ = c.scheduleTimerFired(at: F.ms(10_041))
        _ = c.begin(.standalone, atMS: 10_041)
        _ = c.addressesResolved(["10.0.0.1"], at: F.ms(10_041))
        _ = c.connected(at: F.ms(10_041))
        let handshake = c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(10_045))
        #expect(handshake.last == .armScheduleTimer(at: F.ms(20_045)), "polled on the new connection")
    }
}
