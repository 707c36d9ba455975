import MongoBSON

// MARK: - Replies

extension ServerCheckCycle {
    /// A hello reply arrived on the monitoring connection. The handshake's or a regular
    /// hello's round trip is an RTT sample and the heartbeat's duration; an awaited reply is no
    /// sample, and its duration is how long it was awaited. An `ok: 0` reply (or one whose
    /// fields cannot be read) fails the check as a command error. A reply nobody asked for
    /// means a broken server: the connection is closed and a check requested.
    public mutating func replyReceived(_ reply: Reply, at now: UInt64) -> [Action] {
        guard case .checking(let check) = state else {
            guard connection != nil, case .waiting = state else { return [] }
            connection = nil
            return Self.concatenated([.closeConnection], immediateCheckRequested(at: now))
        }
        let useHello = reply.document["helloOk"]?.boolValue ?? false
        let previousUseHello = connection?.useHello
        let durationMS: Double
        let awaitedVersion: TopologyVersion?
        switch check.step {
        case .resolving, .connecting:
            return []
        case .handshaking(let addresses, let index, let sentAt):
            durationMS = Self.milliseconds(from: sentAt, to: now)
            rtt.add(durationMS)
            connection = OpenConnection(address: addresses[index], useHello: useHello, moreToCome: reply.moreToCome)
            awaitedVersion = nil
        case .polling(let sentAt):
            durationMS = Self.milliseconds(from: sentAt, to: now)
            rtt.add(durationMS)
            connection?.useHello = useHello
            connection?.moreToCome = reply.moreToCome
            awaitedVersion = nil
        case .awaiting(let version):
            durationMS = Self.milliseconds(from: check.startedAt, to: now)
            connection?.useHello = useHello
            connection?.moreToCome = reply.moreToCome
            awaitedVersion = version
        }
        let description = ServerDescription(
            address: server, hello: reply.document, roundTripTimeMS: rtt.average,
            minRoundTripTimeMS: rtt.minimum, now: Self.milliseconds(now))
        if description.type == .unknown {
            if TopologyStateMachine.hasOverloadLabel(reply.document) {
                // Backpressure on an authenticated (single-threaded) connection: the server is
                // alive and shedding load. The connection stays open (server-monitoring spec,
                // "Handling of backpressure labels") and its description stands.
                lastCheckOutcome = .overloaded
                // An error reply says nothing about hello support: keep what the handshake said.
                if let previousUseHello { connection?.useHello = previousUseHello }
                return Self.concatenated(
                    [.stopTimeoutTimer,
                     .publishHeartbeatFailed(durationMS: durationMS, error: "\(server): \(description.error ?? "overloaded")",
                                             awaited: check.awaited)],
                    waitForHeartbeat(endedAt: now))
            }
            return failCheck(check, description.error ?? "hello failed", isNetworkError: false, at: now, description: description)
        }
        lastCheckOutcome = .succeeded
        topologyVersion = description.topologyVersion
        var actions: [Action] = [
            .stopTimeoutTimer,
            .publishHeartbeatSucceeded(durationMS: durationMS, reply: reply.document, awaited: check.awaited),
            .applyDescription(description, checkFailed: false, cancellationsAtStart: check.cancellations),
        ]
        if let refused = streamingRefusedFor, let processId = description.topologyVersion?.processId, processId != refused {
            // Another server process answers (a restart): it may honour maxAwaitTimeMS.
            streamingRefusedFor = nil
        }
        if check.awaited {
            let quick = awaitedVersion != nil && description.topologyVersion == awaitedVersion
                && durationMS < Double(configuration.heartbeatFrequencyMS) / 2
            quickAwaitedReplies = quick ? quickAwaitedReplies + 1 : 0
            if quickAwaitedReplies >= 2, let processId = description.topologyVersion?.processId {
                // This process does not honour maxAwaitTimeMS: streaming from it would send
                // hellos as fast as they come back (and reconnecting each heartbeat would cost a
                // connection and a handshake each time). Poll it on this connection, and stop
                // the RTT connection, which polling does not use (spec, "Measuring RTT").
                quickAwaitedReplies = 0
                streamingRefusedFor = processId
                if measuringRTT {
                    measuringRTT = false
                    actions.append(.stopRTTMeasurement)
                }
                if reply.moreToCome {
                    // An exhaust stream cannot be stopped on its connection.
                    connection = nil
                    actions.append(.closeConnection)
                }
                return Self.concatenated(actions, waitForHeartbeat(endedAt: now))
            }
        }
        if reply.moreToCome || streamingAllowed {
            // Streaming never sleeps: the next awaited check starts now.
            return Self.concatenated(actions, checkAtOnce(endedAt: now, isRetry: false))
        }
        return Self.concatenated(actions, waitForHeartbeat(endedAt: now))
    }
}
