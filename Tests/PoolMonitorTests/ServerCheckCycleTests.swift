import Testing
@testable import MongoBSON
@testable import SDAMCore

/// The rules of one server's check cycle, driven by hand: no socket, no clock, the actions
/// compared as values (the scheduling rules are in `CheckSchedulerTests`).
@Suite struct ServerCheckCycleTests {
    typealias F = CycleFixtures
    typealias Cycle = F.Cycle

    // MARK: - Connecting

    @Test func firstCheckResolvesConnectsAndHandshakesEachStepWithItsOwnTimeout() {
        var c = F.cycle()
        #expect(c.start() == [.startCheck])
        #expect(c.begin(.unknown, atMS: 0) == [.publishHeartbeatStarted(awaited: false), .armTimeoutTimer(at: F.ms(1_000)), .resolve])
        #expect(c.addressesResolved(["10.0.0.1", "10.0.0.2"], at: F.ms(10)) == [.armTimeoutTimer(at: F.ms(1_010)), .connect("10.0.0.1")])
        #expect(c.connected(at: F.ms(20)) == [.armTimeoutTimer(at: F.ms(1_020)), .sendHandshake])
        #expect(c.connectedAddress == nil, "not before the handshake's reply")
        let reply = c.replyReceived(.init(document: F.hello()), at: F.ms(25))
        #expect(reply.first == .stopTimeoutTimer)
        #expect(reply.contains(.publishHeartbeatSucceeded(durationMS: 5, reply: F.hello(), awaited: false)), "the handshake's round trip")
        #expect(Cycle.applied(reply)?.description.type == .standalone)
        #expect(Cycle.applied(reply)?.description.roundTripTimeMS == 5)
        #expect(Cycle.applied(reply)?.checkFailed == false)
        #expect(reply.last == .armScheduleTimer(at: F.ms(10_025)))
        #expect(c.connectedAddress == "10.0.0.1")
    }

    /// The cycle asks nothing of the executor's address type but Sendable (a protocol
    /// requirement cost a conformance scan in a process's first check): one that is not even
    /// Equatable goes through a check and comes back in `.connect` and `connectedAddress`.
    @Test func anAddressTypeThatIsOnlySendableWorks() {
        struct Opaque: Sendable { var token: Int }
        var c = ServerCheckCycle<Opaque>(server: F.server, configuration: .init(heartbeatFrequencyMS: 10_000, connectTimeoutMS: 1_000, streamingEnabled: false))
        _ = c.start()
        _ = c.beginCheck(serverType: .unknown, cancellations: 0, at: 0)
        let actions = c.addressesResolved([Opaque(token: 7)], at: F.ms(1))
        guard case .connect(let target)? = actions.last else {
            Issue.record("expected a connect, got \(actions)")
            return
        }
        #expect(target.token == 7)
        _ = c.connected(at: F.ms(2))
        _ = c.replyReceived(.init(document: F.hello()), at: F.ms(3))
        #expect(c.connectedAddress?.token == 7)
    }

    @Test func refusedAddressMovesToTheNextAndOnlyAllFailedFailsTheCheck() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        _ = c.addressesResolved(["::1", "10.0.0.1"], at: F.ms(0))
        #expect(c.connectionFailed(.connectFailed("refused"), at: F.ms(1)) == [.closeConnection, .armTimeoutTimer(at: F.ms(1_001)), .connect("10.0.0.1")])
        _ = c.connected(at: F.ms(2))
        // Closed before the handshake's reply: no address is left, so the check fails.
        let failed = c.connectionFailed(.closedByPeer("reset"), at: F.ms(3))
        let error = Cycle.applied(failed)?.description.error ?? ""
        #expect(error.contains("refused") && error.contains("reset") && error.contains("db.example:27017"), "\(error)")
        #expect(Cycle.applied(failed)?.checkFailed == true)
        #expect(failed.last == .armScheduleTimer(at: F.ms(10_003)), "the server was Unknown: no retry")
    }

    /// A host whose AAAA record is filtered: the connect to its IPv6 address times out, and
    /// the same check goes on to the IPv4 one, with connectTimeoutMS of its own.
    @Test func connectTimeoutOnOneAddressMovesToTheNextWithinTheCheck() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        _ = c.addressesResolved(["2001:db8::1", "10.0.0.1"], at: F.ms(0))
        #expect(c.timeoutTimerFired(at: F.ms(1_000)) == [.closeConnection, .armTimeoutTimer(at: F.ms(2_000)), .connect("10.0.0.1")])
        _ = c.connected(at: F.ms(1_010))
        let reply = c.replyReceived(.init(document: F.hello()), at: F.ms(1_020))
        #expect(Cycle.applied(reply)?.description.type == .standalone)
        #expect(c.connectedAddress == "10.0.0.1")
    }

    @Test func checkFailsOnlyWhenEveryAddressTimedOut() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        _ = c.addressesResolved(["2001:db8::1", "10.0.0.1"], at: F.ms(0))
        #expect(Cycle.applied(c.timeoutTimerFired(at: F.ms(1_000))) == nil)
        let failed = c.timeoutTimerFired(at: F.ms(2_000))
        let error = Cycle.applied(failed)?.description.error ?? ""
        #expect(error == "db.example:27017: no connect to 2001:db8::1 within connectTimeoutMS (1000 ms); no connect to 10.0.0.1 within connectTimeoutMS (1000 ms)")
        #expect(failed.contains(.publishHeartbeatFailed(durationMS: 2_000, error: error, awaited: false)))
    }

    @Test func noAddressAtAllFailsTheCheck() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        let failed = c.addressesResolved([], at: F.ms(1))
        #expect(Cycle.applied(failed)?.description.error?.contains("no address to connect to") == true)
    }

    @Test func checkThatStartsWhileALookupHangsWaitsForItInsteadOfStartingAnother() {
        var c = F.cycle()
        _ = c.start()
        _ = c.begin(.unknown, atMS: 0)
        let timedOut = c.timeoutTimerFired(at: F.ms(1_000))
        #expect(Cycle.applied(timedOut)?.description.error?.contains("cannot resolve db.example within connectTimeoutMS") == true)
        _ = c.scheduleTimerFired(at: F.ms(11_000))
        #expect(c.begin(.unknown, atMS: 11_000) == [.publishHeartbeatStarted(awaited: false), .armTimeoutTimer(at: F.ms(12_000))], "no second lookup")
        #expect(c.addressesResolved(["10.0.0.1"], at: F.ms(11_500)) == [.armTimeoutTimer(at: F.ms(12_500)), .connect("10.0.0.1")],
                "the hung lookup's answer serves the check waiting for it")
    }

    @Test func connectTimeoutZeroArmsNoTimeout() {
        var c = F.cycle(connectTimeoutMS: 0)
        _ = c.start()
        #expect(c.begin(.unknown, atMS: 0) == [.publishHeartbeatStarted(awaited: false), .stopTimeoutTimer, .resolve])
        #expect(c.timeoutTimerFired(at: F.ms(999_999)) == [])
    }

    // MARK: - Failure and the one retry

    @Test func failedCheckOfAKnownServerAppliesUnknownFirstThenRetriesOnce() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        #expect(c.begin(.standalone, cancellations: 7, atMS: 10_030) == [
            .publishHeartbeatStarted(awaited: false), .armTimeoutTimer(at: F.ms(11_030)), .sendHello(useHello: true),
        ])
        let failed = c.timeoutTimerFired(at: F.ms(11_030))
        let error = "db.example:27017: no reply within connectTimeoutMS (1000 ms)"
        #expect(failed == [
            .stopTimeoutTimer, .closeConnection,
            .publishHeartbeatFailed(durationMS: 1_000, error: error, awaited: false),
            .applyDescription(ServerDescription(address: F.server, error: error, now: 11_030), checkFailed: true,
                              interruptInUseConnections: true, cancellationsAtStart: 7),
            .startCheck,
        ], "Unknown and the pool cleared (interrupting connections in use: the check timed out) in one transition, then the retry")
        #expect(c.averageRoundTripTimeMS == nil, "the failure cleared the RTT average")
        // The retry opens a new connection; its own failure waits for the heartbeat.
        #expect(c.begin(.unknown, cancellations: 7, atMS: 11_030).last == .resolve)
        let retryFailed = c.resolutionFailed("cannot resolve host 'db.example'", at: F.ms(11_040))
        #expect(Cycle.applied(retryFailed)?.checkFailed == true)
        #expect(retryFailed.contains { if case .applyDescription(_, _, let interrupt, _) = $0 { !interrupt } else { false } },
                "a failure that is not a timeout interrupts nothing")
        #expect(retryFailed.last == .armScheduleTimer(at: F.ms(21_040)))
    }

    @Test func commandErrorFailsTheCheckWithTheServersMessage() {
        var c = F.cycle()
        _ = c.start()
        let failed = c.connectAndHandshake(atMS: 0, replyMS: 10, reply: F.commandError)
        let applied = Cycle.applied(failed)
        #expect(applied?.checkFailed == true)
        #expect(applied?.description.error == "db.example:27017: hello failed: not now (code 8)")
        #expect(failed.contains(.publishHeartbeatFailed(durationMS: 10, error: "db.example:27017: hello failed: not now (code 8)", awaited: false)))
        #expect(failed.contains(.closeConnection))
    }

    // MARK: - Idle connection, cancellation, stop

    @Test func idleConnectionClosedByPeerIsCheckedAtOnceSubjectToTheFloor() {
        var c = F.cycle()
        c.firstCheck(replyMS: 1_000)
        #expect(c.connectionFailed(.closedByPeer("db.example:27017 closed the connection"), at: F.ms(1_200))
                == [.closeConnection, .armScheduleTimer(at: F.ms(1_500))])
        #expect(c.scheduleTimerFired(at: F.ms(1_500)) == [.startCheck])
        #expect(c.begin(.standalone, atMS: 1_500).last == .resolve, "a new connection")
    }

    @Test func unsolicitedReplyClosesTheConnectionAndAsksForACheck() {
        var c = F.cycle()
        c.firstCheck(replyMS: 1_000)
        #expect(c.replyReceived(.init(document: F.hello()), at: F.ms(5_000)) == [.closeConnection, .stopScheduleTimer, .startCheck])
    }

    @Test func cancelClosesTheConnectionAndAbandonsTheCheckWithoutApplyingIt() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        _ = c.begin(.standalone, atMS: 10_030)
        let cancelled = c.cancel(at: F.ms(10_040))
        #expect(cancelled == [
            .closeConnection, .stopTimeoutTimer,
            .publishHeartbeatFailed(durationMS: 10, error: "db.example:27017: check cancelled after a network error on an application connection", awaited: false),
            .armScheduleTimer(at: F.ms(20_040)),
        ])
        #expect(Cycle.applied(cancelled) == nil)
        #expect(c.replyReceived(.init(document: F.hello()), at: F.ms(10_050)) == [], "the cancelled check's reply is gone with its connection")
        _ = c.scheduleTimerFired(at: F.ms(20_040))
        #expect(c.begin(.unknown, atMS: 20_040).last == .resolve, "the next check connects anew")
    }

    @Test func cancelBetweenChecksOnlyClosesTheConnection() {
        var c = F.cycle()
        c.firstCheck(replyMS: 30)
        #expect(c.cancel(at: F.ms(100)) == [.closeConnection])
        #expect(c.immediateCheckRequested(at: F.ms(600)) == [.stopScheduleTimer, .startCheck])
        #expect(c.begin(.unknown, atMS: 600).last == .resolve)
    }

    @Test func stopAbandonsTheCheckAndEverythingElse() {
        var c = F.cycle(streaming: true)
        c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        _ = c.begin(atMS: 30)  // streaming: an awaitable hello and the RTT connection
        #expect(c.stop(at: F.ms(530)) == [
            .publishHeartbeatFailed(durationMS: 500, error: "db.example:27017: check cancelled: monitoring of the server stopped", awaited: true),
            .stopRTTMeasurement, .stopScheduleTimer, .stopTimeoutTimer, .closeConnection,
        ])
        #expect(c.isStopped && !c.isStreaming)
        #expect(c.replyReceived(.init(document: F.hello(processId: F.processA)), at: F.ms(600)) == [])
        #expect(c.connectionFailed(.closedByPeer("x"), at: F.ms(600)) == [])
        #expect(c.addressesResolved(["10.0.0.1"], at: F.ms(600)) == [])
    }

    // MARK: - Streaming

    @Test func replyWithATopologyVersionStreamsAtOnceWithAnRTTConnection() {
        var c = F.cycle(streaming: true)
        let first = c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        #expect(first.last == .startCheck, "streaming never sleeps")
        #expect(c.begin(atMS: 30) == [
            .publishHeartbeatStarted(awaited: true), .armTimeoutTimer(at: F.ms(11_030)),
            .sendAwaitableHello(useHello: true, topologyVersion: F.version(F.processA), maxAwaitTimeMS: 10_000),
            .startRTTMeasurement,
        ], "connectTimeoutMS + heartbeatFrequencyMS for the awaited reply")
        #expect(c.isStreaming)
        #expect(c.immediateCheckRequested(at: F.ms(1_000)) == [], "the server pushes every change")
        c.roundTripTimeMeasured(3)
        // The server's state changes after 4 s: an awaited reply, no RTT sample of its own.
        let pushed = c.replyReceived(.init(document: F.hello(processId: F.processA, counter: 1)), at: F.ms(4_030))
        #expect(pushed.contains(.publishHeartbeatSucceeded(durationMS: 4_000, reply: F.hello(processId: F.processA, counter: 1), awaited: true)))
        #expect(Cycle.applied(pushed)?.description.roundTripTimeMS == c.averageRoundTripTimeMS)
        #expect(pushed.last == .startCheck)
        #expect(c.begin(atMS: 4_030) == [
            .publishHeartbeatStarted(awaited: true), .armTimeoutTimer(at: F.ms(15_030)),
            .sendAwaitableHello(useHello: true, topologyVersion: F.version(F.processA, 1), maxAwaitTimeMS: 10_000),
        ], "the RTT connection is already measuring")
    }

    @Test func exhaustReplyWithMoreToComeReadsTheNextReply() {
        var c = F.cycle(streaming: true)
        c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        _ = c.begin(atMS: 30)
        let streamed = c.replyReceived(.init(document: F.hello(processId: F.processA, counter: 1), moreToCome: true), at: F.ms(6_000))
        #expect(streamed.last == .startCheck)
        #expect(c.begin(atMS: 6_000) == [.publishHeartbeatStarted(awaited: true), .armTimeoutTimer(at: F.ms(17_000)), .expectNextExhaustReply])
    }

    @Test func awaitedReplyTimesOutAfterConnectTimeoutPlusHeartbeat() {
        var c = F.cycle(streaming: true)
        c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        _ = c.begin(atMS: 30)
        let failed = c.timeoutTimerFired(at: F.ms(11_030))
        #expect(Cycle.applied(failed)?.description.error
                == "db.example:27017: no awaited hello reply within connectTimeoutMS + heartbeatFrequencyMS (11000 ms)")
        #expect(failed.contains(.publishHeartbeatFailed(durationMS: 11_000, error: "db.example:27017: no awaited hello reply within connectTimeoutMS + heartbeatFrequencyMS (11000 ms)", awaited: true)))
        #expect(failed.last == .startCheck, "the server was known: one retry")
    }

    @Test func pollModeNeverStreams() {
        var c = F.cycle(streaming: false)
        let first = c.firstCheck(replyMS: 30, reply: F.hello(processId: F.processA))
        #expect(first.last == .armScheduleTimer(at: F.ms(10_030)))
        _ = c.scheduleTimerFired(at: F.ms(10_030))
        #expect(c.begin(atMS: 10_030).last == .sendHello(useHello: true))
    }
}
