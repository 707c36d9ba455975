import MongoBSON

// MARK: - Resolving and connecting

extension ServerCheckCycle {
    /// The lookup finished. It serves the check waiting for it, if any (a check that timed out
    /// while it ran has ended; the next check starts a new lookup).
    public mutating func addressesResolved(_ addresses: [Address], at now: UInt64) -> [Action] {
        resolutionInFlight = false
        guard case .checking(var check) = state, case .resolving = check.step else { return [] }
        return connect(&check, to: addresses, index: 0, at: now)
    }

    public mutating func resolutionFailed(_ reason: String, at now: UInt64) -> [Action] {
        resolutionInFlight = false
        guard case .checking(let check) = state, case .resolving = check.step else { return [] }
        return failCheck(check, reason, isNetworkError: true, at: now)
    }

    /// The non-blocking connect completed: the handshake goes out, with its own
    /// connectTimeoutMS.
    public mutating func connected(at now: UInt64) -> [Action] {
        guard case .checking(var check) = state, case .connecting(let addresses, let index) = check.step else { return [] }
        check.step = .handshaking(addresses: addresses, index: index, sentAt: now)
        let timeout = armTimeout(&check, at: now)
        state = .checking(check)
        return [timeout, .sendHandshake]
    }

    /// The monitoring connection failed. Before the handshake reply the next address is
    /// tried; on an open connection the check fails; an idle connection the server closed
    /// (its process went away, or it dropped connections on stepdown) asks for a check now,
    /// subject to the 500 ms floor.
    public mutating func connectionFailed(_ failure: ConnectionFailure, at now: UInt64) -> [Action] {
        switch state {
        case .checking(var check):
            switch check.step {
            case .resolving:
                return []
            case .connecting(let addresses, let index), .handshaking(let addresses, let index, _):
                check.connectErrors.append(failure.reason)
                return tryNextAddress(&check, of: addresses, after: index, at: now)
            case .polling, .awaiting:
                return failCheck(check, failure.reason, isNetworkError: true, at: now)
            }
        case .waiting where connection != nil:
            connection = nil
            return Self.concatenated([.closeConnection], immediateCheckRequested(at: now))
        case .notStarted, .waiting, .starting, .stopped:
            return []
        }
    }

    /// Closes the attempt on `addresses[index]` and tries the next address (failing the check,
    /// which closes the connection itself, when none is left).
    mutating func tryNextAddress(_ check: inout Check, of addresses: [Address], after index: Int, at now: UInt64) -> [Action] {
        let next = connect(&check, to: addresses, index: index + 1, at: now)
        return index + 1 < addresses.count ? Self.concatenated([.closeConnection], next) : next
    }

    /// Tries `addresses[index]`, or fails the check with every address's error when none is
    /// left.
    mutating func connect(_ check: inout Check, to addresses: [Address], index: Int, at now: UInt64) -> [Action] {
        guard index < addresses.count else {
            let reason = check.connectErrors.isEmpty ? "no address to connect to for \(server)" : check.connectErrors.joined(separator: "; ")
            return failCheck(check, reason, isNetworkError: true, at: now)
        }
        check.step = .connecting(addresses: addresses, index: index)
        let timeout = armTimeout(&check, at: now)
        state = .checking(check)
        return [timeout, .connect(addresses[index])]
    }
}
