import MongoBSON
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// Pays the simulator's own first-use costs before it says `ready`: one handshake over OP_MSG
/// and one over legacy OP_QUERY (as libmongoc and PyMongo shake hands) to each of the first
/// few servers, each answered and read back on a blocking loopback socket.
///
/// Why: a simulated server's very first reply took 1–4 ms here — type metadata, the first
/// encode of a hello reply, its process's first socket reads — where a real mongod answers in
/// about 0.1 ms. Without this, whichever client connects first (a benchmark's driver under
/// test) is charged for the simulator's start-up. One server per role is enough for the code
/// paths; servers keep no state from a closed connection that a later client could see,
/// though their `ServerStatistics` counters (read only in-process, by tests that do not warm
/// up) count these connections.
public enum SimulatorWarmUp {
    /// The warm-up's exchanges; a failure is reported (and the simulator starts anyway).
    /// - Parameter addresses: "127.0.0.1:PORT" addresses of plaintext servers.
    public static func run(addresses: [String]) -> [String] {
        var failures: [String] = []
        for address in addresses.prefix(3) {
            for legacy in [false, true] {
                if let failure = handshake(with: address, legacy: legacy) { failures.append("\(address): \(failure)") }
            }
        }
        return failures
    }

    /// One handshake round trip; nil when a reply came.
    private static func handshake(with address: String, legacy: Bool) -> String? {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            return "not a host:port address"
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "socket() failed: errno \(errno)" }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr.s_addr = inet_addr(String(address[..<colon]))
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return "connect failed: errno \(errno)" }
        let message: WireMessage
        if legacy {
            let command: BSONDocument = ["isMaster": .int32(1), "helloOk": .bool(true)]
            message = WireMessage(requestID: 1, payload: .query(OpQuery(flags: .secondaryOk, fullCollectionName: "admin.$cmd",
                                                                         query: command.encoded())))
        } else {
            message = Handshake.checkMessage(requestID: 1, useHello: false)
        }
        let bytes: [UInt8]
        do { bytes = try message.encoded() } catch { return "cannot encode the handshake: \(error)" }
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            return "send failed: errno \(errno)"
        }
        var decoder = FrameDecoder(expectedResponseTo: 1, server: address)
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            do {
                if try decoder.nextMessage() != nil { return nil }
            } catch {
                return "bad reply: \(error)"
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return count == 0 ? "closed before replying" : "recv failed: errno \(errno)" }
            decoder.append(buffer[0..<count])
        }
    }
}
