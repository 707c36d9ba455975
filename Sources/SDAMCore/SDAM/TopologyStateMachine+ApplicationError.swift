import MongoBSON

// MARK: - Application errors (the spec's "Error handling" section)

extension TopologyStateMachine {
    /// Feeds an application operation's error into SDAM: `handleError` of the spec.
    ///
    /// Stale errors (from a connection of an older pool generation, or a State Change Error
    /// whose topologyVersion is not newer than the server's) change nothing. Otherwise:
    /// - a State Change Error marks the server Unknown (not in load-balanced mode), clears
    ///   the pool if the node is shutting down or older than 4.2, and requests an immediate
    ///   check;
    /// - a network error after the handshake, or an authentication error, marks the server
    ///   Unknown, clears its pool and cancels the check in progress;
    /// - a network timeout after the handshake changes nothing (the operation may be slow);
    /// - a network error or timeout while establishing the connection changes nothing: it is
    ///   connection backpressure, and the error gets `ApplicationError.backpressureLabels`;
    ///   unless it is not backpressure (a host that does not resolve, an unreadable handshake
    ///   reply: `isNotBackpressure`), which marks the server Unknown and clears its pool.
    ///
    /// - Parameter now: the caller's clock in milliseconds, for the Unknown description.
    public mutating func handle(_ error: ApplicationError, now: Int64) -> TopologyUpdate {
        guard let current = description.servers[error.address] else { return TopologyUpdate() }
        let poolGeneration = poolGenerations[error.address, default: 0]
        if let generation = error.generation, generation < poolGeneration { return TopologyUpdate() }
        let loadBalanced = description.type == .loadBalanced
        var t = Transition(before: description)

        switch error.kind {
        case .command(let reply):
            guard let stateChange = StateChangeError(reply: reply) else {
                // Not a state change. Before the handshake completed (the hello of a new
                // application connection failed) it still marks the server Unknown, unless the
                // server labelled it as overload (spec: "not error.completedHandshake").
                guard error.phase == .beforeHandshakeCompletes, !Self.hasOverloadLabel(reply) else { return TopologyUpdate() }
                let code = reply["code"]?.int64Value.map { " (code \($0))" } ?? ""
                let message = reply["errmsg"]?.stringValue ?? "command failed"
                markUnknownAndClear(error, "handshake failed on an application connection: \(message)\(code)", now: now, &t)
                return finish(t)
            }
            guard TopologyVersion.compare(current.topologyVersion, stateChange.topologyVersion) == .orderedAscending else {
                return TopologyUpdate()
            }
            if !loadBalanced {
                let codeText = stateChange.code.map { " (code \($0))" } ?? ""
                let unknown = ServerDescription(
                    address: error.address,
                    error: "\(stateChange.kind.rawValue): \(stateChange.message)\(codeText)",
                    topologyVersion: stateChange.topologyVersion,
                    now: now
                )
                update(with: unknown, &t)
            }
            if stateChange.isShutdown || error.maxWireVersion <= WireVersion.lastBefore42 {
                clearPool(error.address, serviceId: loadBalanced ? error.serviceId : nil, &t)
            }
            t.actions.append(.requestImmediateCheck(error.address))

        case .network where error.phase == .beforeHandshakeCompletes && error.isNotBackpressure:
            markUnknownAndClear(error, error.detail.map { "cannot establish an application connection: \($0)" }
                ?? "cannot establish an application connection", now: now, &t)
        case .network where error.phase == .afterHandshakeCompletes:
            markUnknownAndClear(error, error.detail.map { "network error on an application connection: \($0)" } ?? "network error on an application connection", now: now, &t)
        case .authentication(let message):
            markUnknownAndClear(error, "authentication failed: \(message)", now: now, &t)
        case .network, .timeout:
            // A timeout on an established connection, or backpressure while connecting.
            return TopologyUpdate()
        }
        return finish(t)
    }

    /// Whether a reply carries the server's `SystemOverloadedError` label (client backpressure).
    static func hasOverloadLabel(_ reply: BSONDocument) -> Bool {
        reply["errorLabels"]?.arrayValue?.contains(.string("SystemOverloadedError")) ?? false
    }

    private mutating func markUnknownAndClear(
        _ error: ApplicationError, _ text: String, now: Int64, _ t: inout Transition
    ) {
        if description.type == .loadBalanced {
            if let serviceId = error.serviceId { clearPool(error.address, serviceId: serviceId, &t) }
        } else {
            update(with: ServerDescription(address: error.address, error: text, now: now), &t)
            clearPool(error.address, serviceId: nil, &t)
        }
        t.actions.append(.cancelCheck(error.address))
    }
}
