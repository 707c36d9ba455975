import Testing
@testable import MongoBSON
@testable import SDAMCore

/// The RTT connection's rhythm ("Measuring RTT"), driven by hand.
@Suite struct RoundTripTimeMeasurementTests {
    static func ms(_ milliseconds: UInt64) -> UInt64 { milliseconds * 1_000_000 }

    @Test func handshakeIsTheFirstSampleThenAHelloEveryHeartbeat() {
        var m = RoundTripTimeMeasurement(heartbeatFrequencyMS: 500, connectTimeoutMS: 1_000)
        #expect(m.start(at: Self.ms(0)) == [.armTickTimer(at: Self.ms(500)), .armTimeoutTimer(at: Self.ms(1_000)), .connect])
        #expect(m.start(at: Self.ms(1)) == [], "already running")
        #expect(m.connected(at: Self.ms(2)) == [.armTimeoutTimer(at: Self.ms(1_002)), .sendHandshake])
        #expect(m.replyReceived(helloOk: true, at: Self.ms(6)) == [.stopTimeoutTimer, .recordSample(4)])
        #expect(m.tickTimerFired(at: Self.ms(500)) == [.armTickTimer(at: Self.ms(1_000)), .armTimeoutTimer(at: Self.ms(1_500)), .sendHello(useHello: true)])
        #expect(m.replyReceived(helloOk: true, at: Self.ms(502)) == [.stopTimeoutTimer, .recordSample(2)])
        #expect(m.samplesTaken == 2)
    }

    @Test func tickWhileTheHelloIsStillOutSendsNothing() {
        var m = RoundTripTimeMeasurement(heartbeatFrequencyMS: 500, connectTimeoutMS: 0)
        _ = m.start(at: Self.ms(0))
        _ = m.connected(at: Self.ms(0))
        #expect(m.tickTimerFired(at: Self.ms(500)) == [.armTickTimer(at: Self.ms(1_000))])
    }

    @Test func timeoutOrErrorClosesAndTheNextTickReconnects() {
        var m = RoundTripTimeMeasurement(heartbeatFrequencyMS: 500, connectTimeoutMS: 100)
        _ = m.start(at: Self.ms(0))
        #expect(m.timeoutTimerFired(at: Self.ms(99)) == [.armTimeoutTimer(at: Self.ms(100))], "early: re-armed")
        #expect(m.timeoutTimerFired(at: Self.ms(100)) == [.stopTimeoutTimer, .closeConnection])
        #expect(m.tickTimerFired(at: Self.ms(500)).last == .connect)
        _ = m.connected(at: Self.ms(501))
        #expect(m.replyReceived(helloOk: nil, at: Self.ms(502)) == [.stopTimeoutTimer, .closeConnection], "an unreadable reply")
        #expect(m.connectionFailed() == [], "nothing open")
        #expect(m.samplesTaken == 0)
    }

    @Test func stopClosesEverythingAndIgnoresLateEvents() {
        var m = RoundTripTimeMeasurement(heartbeatFrequencyMS: 500, connectTimeoutMS: 100)
        _ = m.start(at: Self.ms(0))
        #expect(m.stop() == [.stopTickTimer, .stopTimeoutTimer, .closeConnection])
        #expect(m.connected(at: Self.ms(1)) == [])
        #expect(m.tickTimerFired(at: Self.ms(500)) == [])
        #expect(m.stop() == [])
        #expect(m.start(at: Self.ms(600)).last == .connect, "it can be started again")
    }
}
