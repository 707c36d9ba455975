import Logging
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// What the pooled client and the single-threaded client share around a command: the overload
/// retry loop, reading the reply (state change errors fed to SDAM, `ok: 0` thrown) and turning
/// a connection's failure into SDAM feedback and a `ClientPoolError`. Only how a server is
/// selected and how bytes reach it differ between the two (architecture rule 9).
enum CommandExecution {
    /// Runs `attempt`, retrying it after overload errors as the client-backpressure spec's
    /// retry policy says (every command, runCommand included): an error labelled both
    /// SystemOverloadedError and RetryableError is retried up to maxAdaptiveRetries times, each
    /// retry taking a token from `tokens` and waiting a jittered exponential backoff (the
    /// server's baseBackoffMS if its reply names one), on another server when there is one.
    /// - Parameters:
    ///   - attempt: one try, avoiding the servers given where it can.
    ///   - wait: sleeps the backoff (and throws when the client closes meanwhile).
    static func withOverloadRetries(
        policy: OverloadRetryPolicy,
        tokens: ConditionLock<RetryTokenBucket>,
        logger: Logger,
        attempt: (Set<ServerAddress>) throws(ClientPoolError) -> BSONDocument,
        wait: (Duration) throws(ClientPoolError) -> Void
    ) throws(ClientPoolError) -> BSONDocument {
        var retries = OverloadRetries(policy: policy, tokens: tokens, logger: logger)
        while true {
            do {
                return retries.succeeded(try attempt(retries.deprioritized))
            } catch {
                try wait(retries.delay(after: error))
            }
        }
    }

    /// Feeds a state change error in the reply (top level or in writeConcernError) to `feed`;
    /// throws `commandFailed` for `ok: 0`.
    static func examine(
        _ reply: BSONDocument,
        of command: BSONDocument,
        from server: ServerAddress,
        generation: Int,
        maxWireVersion: Int,
        serviceId: BSONObjectID?,
        feed: (ApplicationError) -> Void
    ) throws(ClientPoolError) -> BSONDocument {
        if StateChangeError(reply: reply) != nil {
            feed(ApplicationError(
                address: server, generation: generation, maxWireVersion: maxWireVersion,
                phase: .afterHandshakeCompletes, kind: .command(reply), serviceId: serviceId))
        }
        guard reply["ok"]?.isTruthy == true else {
            throw .commandFailed(CommandFailed(server: server, commandName: command.keys.first ?? "(empty)", reply: reply))
        }
        return reply
    }

    /// Tells SDAM (`feed`) about a connection's failure when SDAM takes that kind of error (nil
    /// when it was told already: a failed establishment the pool reported), and returns the
    /// error to throw.
    static func report(
        _ error: ConnectionError, generation: Int, maxWireVersion: Int, serviceId: BSONObjectID? = nil,
        feed: ((ApplicationError) -> Void)?
    ) -> ClientPoolError {
        var labels: [String] = []
        if let applicationError = error.applicationError(generation: generation, maxWireVersion: maxWireVersion, serviceId: serviceId) {
            feed?(applicationError)
            labels = applicationError.backpressureLabels
        }
        switch error.kind {
        case .network, .timeout, .nameResolution:
            return .network(NetworkFailure(
                server: error.server,
                duringHandshake: error.phase == .beforeHandshakeCompletes,
                timedOut: error.kind == .timeout,
                reason: error.reason,
                errorLabels: labels
            ))
        case .invalidReply:
            return .invalidReply(server: error.server, reason: error.reason)
        case .invalidCommand:
            return .invalidCommand(server: error.server, reason: error.reason)
        case .handshakeRejected(let reply):
            var failure = CommandFailed(server: error.server, commandName: "hello", reply: reply)
            failure.errorLabels += labels
            return .commandFailed(failure)
        case .tls(let kind):
            return .tlsFailed(TLSFailure(server: error.server, kind: kind, reason: error.reason))
        case .authentication(let failure):
            return .authenticationFailed(failure)
        }
    }
}
