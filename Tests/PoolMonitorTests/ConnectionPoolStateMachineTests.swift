import Testing
import MongoBSON
import SDAMCore

/// The pure CMAP pool, driven by hand with a nanosecond clock: the events and actions of each
/// input, exactly. No sockets, no threads; the owner's part (establishing, handing out) is
/// played by calling `established` and reading the actions.
@Suite struct ConnectionPoolStateMachineTests {
    let address = ServerAddress(host: "pool.test", port: 27017)

    func machine(_ options: ConnectionPoolOptions = ConnectionPoolOptions()) -> ConnectionPoolStateMachine {
        ConnectionPoolStateMachine(address: address, options: options)
    }

    static func ms(_ n: UInt64) -> UInt64 { n * 1_000_000 }

    /// A ready pool with `count` connections checked out by requests 1...count at time 0.
    func readyPool(_ options: ConnectionPoolOptions, inUse count: Int) -> ConnectionPoolStateMachine {
        var pool = machine(options)
        _ = pool.ready(nowNS: 0)
        for id in 0..<count {
            _ = pool.checkOut(UInt64(id + 1), nowNS: 0)
            _ = pool.established(id + 1, nowNS: 0)
        }
        return pool
    }

    // MARK: - Check-out and the wait queue

    @Test func requestsAreServedInTheOrderTheyCameWithMaxPoolSizeOne() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 1), inUse: 1)
        for request in 2...4 as ClosedRange<UInt64> {
            let out = pool.checkOut(request, nowNS: Self.ms(request))
            #expect(out.events == [.connectionCheckOutStarted(address)])
            #expect(out.actions.isEmpty)
        }
        #expect(pool.waitQueueLength == 3)
        for request in 2...4 as ClosedRange<UInt64> {
            let out = pool.checkIn(1, nowNS: Self.ms(10))
            #expect(out.events == [
                .connectionCheckedIn(address, connectionId: 1),
                .connectionCheckedOut(address, connectionId: 1, durationMS: Double(10 - request)),
            ])
            #expect(out.actions == [.handOut(request: request, connectionID: 1)])
        }
        #expect(pool.waitQueueLength == 0 && pool.totalConnectionCount == 1)
    }

    @Test func maxConnectingBoundsTheConnectionsBeingEstablished() {
        var pool = machine(ConnectionPoolOptions(maxConnecting: 2))
        _ = pool.ready(nowNS: 0)
        #expect(pool.checkOut(1, nowNS: 0).actions == [.establish(connectionID: 1, generation: 0, request: 1)])
        #expect(pool.checkOut(2, nowNS: 0).actions == [.establish(connectionID: 2, generation: 0, request: 2)])
        let third = pool.checkOut(3, nowNS: 0)
        #expect(third.events == [.connectionCheckOutStarted(address)])
        #expect(third.actions.isEmpty)
        #expect(pool.pendingConnectionCount == 2)

        let out = pool.established(1, nowNS: Self.ms(5))
        #expect(out.events == [
            .connectionReady(address, connectionId: 1, durationMS: 5),
            .connectionCheckedOut(address, connectionId: 1, durationMS: 5),
            .connectionCreated(address, connectionId: 3),
        ])
        #expect(out.actions == [
            .handOut(request: 1, connectionID: 1),
            .establish(connectionID: 3, generation: 0, request: 3),
        ])
    }

    @Test func aCheckedInConnectionGoesToTheHeadOfTheQueueBlockedByMaxConnecting() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 10, maxConnecting: 1), inUse: 1)
        #expect(pool.checkOut(2, nowNS: 0).actions == [.establish(connectionID: 2, generation: 0, request: 2)])
        #expect(pool.checkOut(3, nowNS: 0).actions.isEmpty)
        let out = pool.checkIn(1, nowNS: Self.ms(3))
        #expect(out.events == [
            .connectionCheckedIn(address, connectionId: 1),
            .connectionCheckedOut(address, connectionId: 1, durationMS: 3),
        ])
        #expect(out.actions == [.handOut(request: 3, connectionID: 1)])
    }

    @Test func aPausedOrClosedPoolFailsACheckOutAtOnce() {
        var pool = machine()
        var out = pool.checkOut(1, nowNS: 0)
        #expect(out.events == [
            .connectionCheckOutStarted(address),
            .connectionCheckOutFailed(address, reason: .connectionError, durationMS: 0),
        ])
        #expect(out.actions == [.fail(request: 1, .poolCleared)])
        _ = pool.close(nowNS: 0)
        out = pool.checkOut(2, nowNS: 0)
        #expect(out.events == [
            .connectionCheckOutStarted(address),
            .connectionCheckOutFailed(address, reason: .poolClosed, durationMS: 0),
        ])
        #expect(out.actions == [.fail(request: 2, .poolClosed)])
    }

    @Test func aWaitQueueTimeoutFailsOnlyThatRequest() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 1), inUse: 1)
        _ = pool.checkOut(2, nowNS: 0)
        _ = pool.checkOut(3, nowNS: 0)
        let out = pool.timedOut(2, nowNS: Self.ms(50))
        #expect(out.events == [.connectionCheckOutFailed(address, reason: .timeout, durationMS: 50)])
        #expect(out.actions == [.fail(request: 2, .timeout)])
        #expect(pool.timedOut(2, nowNS: Self.ms(60)) == ConnectionPoolStateMachine.Output())
        #expect(pool.checkIn(1, nowNS: Self.ms(70)).actions == [.handOut(request: 3, connectionID: 1)])
    }

    // MARK: - Clearing

    @Test func clearFailsEveryWaiterAndClosesTheAvailableConnections() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 1), inUse: 1)
        _ = pool.checkOut(2, nowNS: 0)
        _ = pool.checkOut(3, nowNS: Self.ms(1))
        var out = pool.clear(nowNS: Self.ms(4))
        #expect(out.events == [
            .poolCleared(address, serviceId: nil, interruptInUseConnections: false),
            .connectionCheckOutFailed(address, reason: .connectionError, durationMS: 4),
            .connectionCheckOutFailed(address, reason: .connectionError, durationMS: 3),
        ])
        #expect(out.actions == [.fail(request: 2, .poolCleared), .fail(request: 3, .poolCleared)])
        #expect(pool.state == .paused && pool.generation == 1)
        // The one in use is stale: closed when it comes back.
        out = pool.checkIn(1, nowNS: Self.ms(5))
        #expect(out.events == [.connectionCheckedIn(address, connectionId: 1), .connectionClosed(address, connectionId: 1, reason: .stale)])
        #expect(out.actions == [.close(connectionID: 1)])

        var idle = readyPool(ConnectionPoolOptions(), inUse: 2)
        _ = idle.checkIn(2, nowNS: 0)
        out = idle.clear(nowNS: 0)
        #expect(out.events == [
            .poolCleared(address, serviceId: nil, interruptInUseConnections: false),
            .connectionClosed(address, connectionId: 2, reason: .stale),
        ])
        #expect(out.actions == [.close(connectionID: 2)])
    }

    @Test func clearingAPausedPoolEmitsNothingButBumpsTheGeneration() {
        var pool = machine()
        let out = pool.clear(nowNS: 0)
        #expect(out == ConnectionPoolStateMachine.Output())
        #expect(pool.generation == 1 && pool.state == .paused)
        _ = pool.ready(nowNS: 0)
        #expect(pool.checkOut(1, nowNS: 0).actions == [.establish(connectionID: 1, generation: 1, request: 1)])
    }

    @Test func interruptReachesInUseAndPendingConnectionsOfTheClearedGenerationOnly() {
        var pool = readyPool(ConnectionPoolOptions(), inUse: 2)
        _ = pool.checkIn(2, nowNS: 0)                       // 2: available
        _ = pool.checkOut(3, nowNS: 0)                      // takes 2
        _ = pool.checkOut(4, nowNS: 0)                      // 3: pending, for request 4
        var out = pool.clear(interruptInUseConnections: true, nowNS: Self.ms(1))
        #expect(out.events == [.poolCleared(address, serviceId: nil, interruptInUseConnections: true)])
        #expect(out.actions == [.interrupt(connectionIDs: [1, 2, 3])])

        // A connection of the new generation is not touched by that clear.
        _ = pool.ready(nowNS: Self.ms(2))
        #expect(pool.checkOut(5, nowNS: Self.ms(2)).actions == [.establish(connectionID: 4, generation: 1, request: 5)])
        _ = pool.established(4, nowNS: Self.ms(3))
        out = pool.checkIn(4, nowNS: Self.ms(4))
        #expect(out.events == [.connectionCheckedIn(address, connectionId: 4)])
        #expect(out.actions.isEmpty)

        // The interrupted pending one is closed when its establishment ends, its request failed.
        out = pool.established(3, nowNS: Self.ms(5))
        #expect(out.events == [
            .connectionClosed(address, connectionId: 3, reason: .stale),
            .connectionCheckOutFailed(address, reason: .connectionError, durationMS: 5),
        ])
        #expect(out.actions == [.close(connectionID: 3), .fail(request: 4, .poolCleared)])
        // And the interrupted in-use one when it comes back.
        out = pool.checkIn(1, nowNS: Self.ms(6))
        #expect(out.events == [.connectionCheckedIn(address, connectionId: 1), .connectionClosed(address, connectionId: 1, reason: .stale)])
    }

    // MARK: - Perished connections

    @Test func anIdleConnectionIsClosedAtCheckOutAndANewOneMade() {
        var pool = readyPool(ConnectionPoolOptions(maxIdleTime: .milliseconds(10)), inUse: 1)
        _ = pool.checkIn(1, nowNS: 0)
        let out = pool.checkOut(2, nowNS: Self.ms(20))
        #expect(out.events == [
            .connectionCheckOutStarted(address),
            .connectionClosed(address, connectionId: 1, reason: .idle),
            .connectionCreated(address, connectionId: 2),
        ])
        #expect(out.actions == [.close(connectionID: 1), .establish(connectionID: 2, generation: 0, request: 2)])
    }

    @Test func aConnectionNotYetIdleIsReused() {
        var pool = readyPool(ConnectionPoolOptions(maxIdleTime: .milliseconds(10)), inUse: 1)
        _ = pool.checkIn(1, nowNS: 0)
        #expect(pool.checkOut(2, nowNS: Self.ms(9)).actions == [.handOut(request: 2, connectionID: 1)])
    }

    /// Bug: a background connection made stale by a clear during its establishment was put in
    /// the pool; it must be closed (stale) instead, and the pool populated afresh.
    @Test func aStaleBackgroundConnectionIsClosedWhenItsEstablishmentEnds() {
        var pool = machine(ConnectionPoolOptions(minPoolSize: 1))
        #expect(pool.ready(nowNS: 0).actions == [.establish(connectionID: 1, generation: 0, request: nil)])
        _ = pool.clear(nowNS: Self.ms(1))
        _ = pool.ready(nowNS: Self.ms(2))
        let out = pool.established(1, nowNS: Self.ms(3))
        #expect(out.events == [
            .connectionClosed(address, connectionId: 1, reason: .stale),
            .connectionCreated(address, connectionId: 2),
        ])
        #expect(out.actions == [.close(connectionID: 1), .establish(connectionID: 2, generation: 1, request: nil)])
        #expect(pool.availableConnectionCount == 0)
    }

    @Test func aPerishedConnectionIsClosedWhenCheckedIn() {
        var pool = readyPool(ConnectionPoolOptions(), inUse: 1)
        let out = pool.checkIn(1, perished: true, nowNS: 0)
        #expect(out.events == [.connectionCheckedIn(address, connectionId: 1), .connectionClosed(address, connectionId: 1, reason: .error)])
        #expect(out.actions == [.close(connectionID: 1)])
    }

    @Test func theBackgroundRunClosesIdleConnectionsAndPopulates() {
        var pool = readyPool(ConnectionPoolOptions(minPoolSize: 1, maxIdleTime: .milliseconds(10)), inUse: 1)
        _ = pool.checkIn(1, nowNS: 0)
        let out = pool.backgroundRun(nowNS: Self.ms(10))
        #expect(out.events == [.connectionClosed(address, connectionId: 1, reason: .idle), .connectionCreated(address, connectionId: 2)])
        #expect(out.actions == [.close(connectionID: 1), .establish(connectionID: 2, generation: 0, request: nil)])
    }

    // MARK: - minPoolSize and maxConnecting

    /// Bug: a request blocked by maxConnecting behind connections populating minPoolSize
    /// opened one more as soon as the first of them was ready, instead of taking the next
    /// (CMAP test pool-checkout-minPoolSize-connection-maxConnecting).
    @Test func requestsBlockedByMaxConnectingTakeThePopulatingConnections() {
        var pool = machine(ConnectionPoolOptions(maxPoolSize: 3, minPoolSize: 2, maxConnecting: 2))
        var out = pool.ready(nowNS: 0)
        #expect(out.events == [.poolReady(address), .connectionCreated(address, connectionId: 1), .connectionCreated(address, connectionId: 2)])
        #expect(out.actions == [
            .establish(connectionID: 1, generation: 0, request: nil),
            .establish(connectionID: 2, generation: 0, request: nil),
        ])
        #expect(pool.checkOut(1, nowNS: Self.ms(200)).actions.isEmpty)
        #expect(pool.checkOut(2, nowNS: Self.ms(200)).actions.isEmpty)
        out = pool.established(1, nowNS: Self.ms(500))
        #expect(out.events == [
            .connectionReady(address, connectionId: 1, durationMS: 500),
            .connectionCheckedOut(address, connectionId: 1, durationMS: 300),
        ])
        #expect(out.actions == [.handOut(request: 1, connectionID: 1)])
        out = pool.established(2, nowNS: Self.ms(501))
        #expect(out.events == [
            .connectionReady(address, connectionId: 2, durationMS: 501),
            .connectionCheckedOut(address, connectionId: 2, durationMS: 301),
        ])
        #expect(out.actions == [.handOut(request: 2, connectionID: 2)])
        #expect(pool.totalConnectionCount == 2)
    }

    @Test func aRequestWaitingForAPopulatingConnectionThatFailsOpensItsOwn() {
        var pool = machine(ConnectionPoolOptions(minPoolSize: 1))
        _ = pool.ready(nowNS: 0)
        #expect(pool.checkOut(1, nowNS: 0).actions.isEmpty)
        let out = pool.establishmentFailed(1, nowNS: Self.ms(2))
        #expect(out.events == [.connectionClosed(address, connectionId: 1, reason: .error), .connectionCreated(address, connectionId: 2)])
        #expect(out.actions == [.close(connectionID: 1), .establish(connectionID: 2, generation: 0, request: 1)])
    }

    // MARK: - Closing

    @Test func closeClosesAvailableConnectionsFailsWaitersAndClosesTheRestAsTheyReturn() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 3, maxConnecting: 1), inUse: 2)
        _ = pool.checkIn(2, nowNS: 0)
        _ = pool.checkOut(3, nowNS: 0)                       // takes 2
        _ = pool.checkOut(4, nowNS: 0)                       // 3: pending
        _ = pool.checkOut(5, nowNS: 0)                       // waits (maxConnecting)
        _ = pool.checkIn(2, nowNS: 0)                        // goes to 5
        _ = pool.checkIn(2, nowNS: 0)                        // available
        var out = pool.close(nowNS: Self.ms(1))
        #expect(out.events == [.connectionClosed(address, connectionId: 2, reason: .poolClosed), .poolClosed(address)])
        #expect(out.actions == [.close(connectionID: 2)])
        #expect(pool.close(nowNS: Self.ms(2)) == ConnectionPoolStateMachine.Output())
        out = pool.checkIn(1, nowNS: Self.ms(3))
        #expect(out.events == [.connectionCheckedIn(address, connectionId: 1), .connectionClosed(address, connectionId: 1, reason: .poolClosed)])
        out = pool.established(3, nowNS: Self.ms(4))
        #expect(out.events == [
            .connectionClosed(address, connectionId: 3, reason: .poolClosed),
            .connectionCheckOutFailed(address, reason: .poolClosed, durationMS: 4),
        ])
        #expect(out.actions == [.close(connectionID: 3), .fail(request: 4, .poolClosed)])
        #expect(pool.totalConnectionCount == 0)
        #expect(pool.ready(nowNS: Self.ms(5)) == ConnectionPoolStateMachine.Output())
    }

    @Test func closeFailsTheRequestsInTheQueue() {
        var pool = readyPool(ConnectionPoolOptions(maxPoolSize: 1), inUse: 1)
        _ = pool.checkOut(2, nowNS: 0)
        let out = pool.close(nowNS: Self.ms(7))
        #expect(out.events == [.connectionCheckOutFailed(address, reason: .poolClosed, durationMS: 7), .poolClosed(address)])
        #expect(out.actions == [.fail(request: 2, .poolClosed)])
    }

    // MARK: - Durations and options

    /// Bug: a check-out whose new connection was closed (pool closed or cleared with
    /// interruption) reported its duration from the connection's creation, not from its own
    /// ConnectionCheckOutStarted.
    @Test func aFailedCheckOutDurationRunsFromItsStart() {
        var pool = machine(ConnectionPoolOptions(maxConnecting: 1))
        _ = pool.ready(nowNS: 0)
        _ = pool.checkOut(1, nowNS: 0)
        _ = pool.checkOut(2, nowNS: 0)                       // waits for maxConnecting
        #expect(pool.established(1, nowNS: Self.ms(5)).actions.last == .establish(connectionID: 2, generation: 0, request: 2))
        _ = pool.close(nowNS: Self.ms(6))
        let out = pool.established(2, nowNS: Self.ms(10))
        #expect(out.events.last == .connectionCheckOutFailed(address, reason: .poolClosed, durationMS: 10))
    }

    /// Bug: CMAP's 0 for maxIdleTimeMS and waitQueueTimeoutMS means no limit; a zero
    /// duration made every available connection idle at once.
    @Test func zeroMaxIdleTimeAndWaitQueueTimeoutMeanNoLimit() {
        let options = ConnectionPoolOptions(maxIdleTime: .zero, waitQueueTimeout: .zero)
        #expect(options.maxIdleTime == nil && options.waitQueueTimeout == nil)
        var pool = readyPool(options, inUse: 1)
        _ = pool.checkIn(1, nowNS: 0)
        #expect(pool.checkOut(2, nowNS: Self.ms(60_000)).actions == [.handOut(request: 2, connectionID: 1)])
    }

    @Test func thePoolCreatedEventNamesTheOptionsThatDifferFromTheDefaults() {
        let options = ConnectionPoolOptions(maxPoolSize: 50, minPoolSize: 5, maxIdleTime: .milliseconds(100))
        let fields = options.nonDefaultSpecFields
        #expect(fields.map(\.0) == ["maxPoolSize", "minPoolSize", "maxIdleTimeMS"])
        #expect(fields.map(\.1) == [.number("50"), .number("5"), .number("100")])
        #expect(ConnectionPoolOptions().nonDefaultSpecFields.isEmpty)
    }
}
