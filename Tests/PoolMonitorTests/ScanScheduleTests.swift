import Testing
@testable import MongoBSON
@testable import SDAMCore

/// The single-threaded scan schedule: when a scan is due, cooldownMS, servers that join during a
/// scan, and which errors make the topology stale.
@Suite struct ScanScheduleTests {
    static func ms(_ milliseconds: UInt64) -> UInt64 { milliseconds * 1_000_000 }
    static let a = ServerAddress(host: "a", port: 27017)
    static let b = ServerAddress(host: "b", port: 27017)
    static let c = ServerAddress(host: "c", port: 27017)

    @Test func aScanIsDueFirstAfterTheHeartbeatAndWhenStaleNoSoonerThanTheFloor() {
        var s = ScanSchedule(heartbeatFrequencyMS: 60_000)
        #expect(s.scanIsDue(at: Self.ms(0)), "never scanned")
        #expect(s.earliestScanStart(at: Self.ms(3)) == Self.ms(3))
        _ = s.beginScan(of: [Self.a], at: Self.ms(3))
        s.checkEnded(Self.a, networkError: false, at: Self.ms(5))
        #expect(s.scan?.isComplete == true)
        s.endScan(at: Self.ms(5))
        #expect(!s.scanIsDue(at: Self.ms(59_000)))
        #expect(s.scanIsDue(at: Self.ms(60_005)), "heartbeatFrequencyMS after the scan ended")
        s.markStale()
        #expect(s.scanIsDue(at: Self.ms(100)))
        #expect(s.earliestScanStart(at: Self.ms(100)) == Self.ms(505), "minHeartbeatFrequencyMS after the last scan ended")
        #expect(s.earliestScanStart(at: Self.ms(900)) == Self.ms(900))
        _ = s.beginScan(of: [Self.a], at: Self.ms(505))
        s.endScan(at: Self.ms(506))
        #expect(!s.isStale && s.scansCompleted == 2)
    }

    @Test func aServerWhoseCheckFailedWithANetworkErrorCoolsDownForFiveSeconds() {
        var s = ScanSchedule(heartbeatFrequencyMS: 60_000)
        #expect(s.beginScan(of: [Self.a, Self.b], at: Self.ms(0)) == [Self.a, Self.b])
        s.checkEnded(Self.a, networkError: true, at: Self.ms(10))
        s.checkEnded(Self.b, networkError: false, at: Self.ms(11))
        s.endScan(at: Self.ms(11))
        #expect(s.beginScan(of: [Self.a, Self.b], at: Self.ms(600)) == [Self.b])
        #expect(s.scan?.coolingDown == [Self.a])
        s.checkEnded(Self.b, networkError: false, at: Self.ms(601))
        s.endScan(at: Self.ms(601))
        #expect(s.beginScan(of: [Self.a, Self.b], at: Self.ms(5_010)) == [Self.a, Self.b], "cooldownMS is over")
        s.checkEnded(Self.a, networkError: false, at: Self.ms(5_011))
        s.checkEnded(Self.b, networkError: false, at: Self.ms(5_011))
        s.endScan(at: Self.ms(5_011))
        #expect(!s.isCoolingDown(Self.a, at: Self.ms(5_012)), "a check that succeeded ends the cooldown")
    }

    @Test func serversThatJoinDuringTheScanArePartOfItAndServersThatLeftAreNotWaitedFor() {
        var s = ScanSchedule(heartbeatFrequencyMS: 60_000)
        _ = s.beginScan(of: [Self.a, Self.b], at: Self.ms(0))
        s.checkEnded(Self.a, networkError: false, at: Self.ms(2))
        // a's reply named c and dropped b.
        #expect(s.serversChanged(to: [Self.a, Self.c], at: Self.ms(2)) == [Self.c])
        #expect(s.scan?.pending == [Self.c] && s.scan?.joined == [Self.c])
        #expect(s.scan?.isComplete == false)
        #expect(s.serversChanged(to: [Self.a, Self.c], at: Self.ms(3)) == [], "reported once")
        s.checkEnded(Self.c, networkError: false, at: Self.ms(4))
        #expect(s.scan?.isComplete == true)
        #expect(s.endScan(at: Self.ms(4))?.ended.map(\.server) == [Self.a, Self.c])
    }

    @Test func errorsThatMakeTheTopologyStale() {
        func error(_ kind: ApplicationError.Kind) -> ApplicationError {
            ApplicationError(address: Self.a, maxWireVersion: 21, phase: .afterHandshakeCompletes, kind: kind)
        }
        func reply(_ code: Int32) -> BSONDocument { ["ok": .double(0), "code": .int32(code), "errmsg": .string("x")] }
        #expect(ScanSchedule.marksTopologyStale(error(.network)))
        #expect(ScanSchedule.marksTopologyStale(error(.timeout)))
        #expect(ScanSchedule.marksTopologyStale(error(.command(reply(10107)))), "not writable primary")
        #expect(ScanSchedule.marksTopologyStale(error(.command(reply(91)))), "node is shutting down")
        #expect(!ScanSchedule.marksTopologyStale(error(.command(reply(11602)))), "node is recovering, not shutting down")
        #expect(!ScanSchedule.marksTopologyStale(error(.command(reply(8)))), "an ordinary command error")
    }
}

/// The single-threaded selection loop, step by step.
@Suite struct SingleThreadedSelectionTests {
    static func ms(_ milliseconds: UInt64) -> UInt64 { milliseconds * 1_000_000 }
    static let a = ServerAddress(host: "a", port: 27017)

    /// A schedule whose last scan ended at `endedMS`.
    static func scanned(endedMS: UInt64) -> ScanSchedule {
        var s = ScanSchedule(heartbeatFrequencyMS: 60_000)
        _ = s.beginScan(of: [a], at: ms(endedMS))
        s.checkEnded(a, networkError: false, at: ms(endedMS))
        s.endScan(at: ms(endedMS))
        return s
    }

    @Test func tryOnceScansOnceAfterAFailedSelectionThenFails() {
        var schedule = Self.scanned(endedMS: 0)
        var selection = SingleThreadedSelection(startedAt: Self.ms(100), timeoutMS: 30_000, tryOnce: true)
        #expect(selection.next(schedule: schedule, at: Self.ms(100)) == .select, "a fresh topology is used as it is")
        schedule.markStale()
        #expect(selection.selectionFailed(at: Self.ms(100)) == nil, "no scan yet: go on")
        #expect(selection.next(schedule: schedule, at: Self.ms(100)) == .scan(notBefore: Self.ms(500)))
        _ = schedule.beginScan(of: [Self.a], at: Self.ms(500))
        schedule.endScan(at: Self.ms(510))
        selection.scanned()
        #expect(selection.next(schedule: schedule, at: Self.ms(510)) == .select)
        schedule.markStale()
        #expect(selection.selectionFailed(at: Self.ms(510)) == .failAfterScan)
    }

    @Test func aStaleTopologyIsScannedFirstAndTryOnceFailsAfterThatScan() {
        var schedule = Self.scanned(endedMS: 0)
        schedule.markStale()
        var selection = SingleThreadedSelection(startedAt: Self.ms(2_000), timeoutMS: 30_000, tryOnce: true)
        #expect(selection.next(schedule: schedule, at: Self.ms(2_000)) == .scan(notBefore: Self.ms(2_000)))
        _ = schedule.beginScan(of: [Self.a], at: Self.ms(2_000))
        schedule.endScan(at: Self.ms(2_001))
        selection.scanned()
        schedule.markStale()
        #expect(selection.selectionFailed(at: Self.ms(2_001)) == .failAfterScan)
    }

    @Test func withoutTryOnceItScansEveryFloorUntilTheTimeout() {
        var schedule = Self.scanned(endedMS: 0)
        var selection = SingleThreadedSelection(startedAt: Self.ms(10), timeoutMS: 1_200, tryOnce: false)
        schedule.markStale()
        var starts: [UInt64] = []
        var now = Self.ms(10)
        while true {
            let step = selection.next(schedule: schedule, at: now)
            guard case .scan(let notBefore) = step else {
                #expect(step == .timedOut)
                break
            }
            now = max(now, notBefore)
            starts.append(now / 1_000_000)
            _ = schedule.beginScan(of: [Self.a], at: now)
            now += Self.ms(2)
            schedule.endScan(at: now)
            selection.scanned()
            schedule.markStale()   // the selector found nothing again
            if let failed = selection.selectionFailed(at: now) {
                #expect(failed == .timedOut)
                break
            }
        }
        #expect(starts == [500, 1_002], "scans every minHeartbeatFrequencyMS; the next (1504) would start after the 1210 ms deadline")
    }
}
