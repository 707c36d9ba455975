import Testing
import MongoTLS

/// A client session and a server session handshaking in memory: each side's output is fed to
/// the other until both are done or one fails.
enum InMemoryHandshake {
    /// Makes both sessions and runs the handshake.
    /// - Returns: the sessions and the client's error, if any.
    static func pair(serverName: String, client: TLSContext, server: TLSContext) throws -> (TLSSession, TLSSession, TLSError?) {
        let c = try client.makeSession(serverName: serverName)
        let s = try server.makeSession()
        #expect(try c.handshake() == false)
        return (c, s, run(c, s))
    }

    /// Runs both handshakes to completion or failure, moving each side's output to the other.
    /// - Returns: the client's error, if any.
    @discardableResult
    static func run(_ client: TLSSession, _ server: TLSSession) -> TLSError? {
        for _ in 0..<20 {
            var toServer: [UInt8] = []
            client.drainOutput(into: &toServer)
            toServer.withUnsafeBytes { server.feed($0) }
            _ = try? server.handshake()
            var toClient: [UInt8] = []
            server.drainOutput(into: &toClient)
            toClient.withUnsafeBytes { client.feed($0) }
            do {
                if try client.handshake(), server.isHandshakeComplete { return nil }
            } catch {
                return error
            }
        }
        Issue.record("the handshake did not finish in 20 flights")
        return nil
    }
}
