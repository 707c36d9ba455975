import Foundation
import Testing
@testable import SDAMCore
@_spi(LoopPrimitives) @testable import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// The resolver without a thread: DNS messages, resolv.conf and hosts(5), and lookups on a
/// caller's-thread loop against a UDP name server this test runs on loopback — several in
/// flight at once, a slow answer delaying only its own name.
@Suite struct LoopNameResolverTests {
    @Test func queriesAndAnswersRoundTrip() throws {
        let query = try #require(DNSMessage.query(id: 0x1234, name: "db1.example.com", type: DNSMessage.typeA))
        #expect(query.count == 12 + 17 + 4)
        #expect(DNSMessage.query(id: 1, name: "a..b", type: DNSMessage.typeA) == nil)
        #expect(DNSMessage.query(id: 1, name: String(repeating: "x", count: 64), type: DNSMessage.typeA) == nil)
        let answer = FakeNameServer.answer(to: query, addresses: ["10.1.2.3"], code: 0)
        #expect(try DNSMessage.answer(answer, id: 0x1234) == .init(code: .noError, truncated: false, addresses: ["10.1.2.3"]))
        #expect(throws: DNSMessage.MalformedAnswer.self) { try DNSMessage.answer(Array(answer.prefix(20)), id: 0x1234) }
        #expect(throws: DNSMessage.MalformedAnswer.self) { try DNSMessage.answer(answer, id: 0x9999) }
        let missing = FakeNameServer.answer(to: query, addresses: [], code: 3)
        #expect(try DNSMessage.answer(missing, id: 0x1234).code == .nameError)
    }

    @Test func resolvConfAndHostsAreRead() {
        let configuration = ResolverConfiguration(
            resolvConf: "# comment\nnameserver 10.0.0.53\nnameserver ::1\nsearch corp.example example.net\noptions ndots:2 timeout:1 attempts:3\n",
            hosts: "127.0.0.1 localhost\n10.9.9.9 db-static.example db-static # a comment\n")
        #expect(configuration.nameServers.map(\.address) == ["10.0.0.53", "::1"])
        #expect(configuration.ndots == 2 && configuration.timeoutSeconds == 1 && configuration.attempts == 3)
        #expect(configuration.hosts["db-static"] == ["10.9.9.9"])
        #expect(configuration.candidates(for: "db") == ["db.corp.example", "db.example.net", "db"])
        #expect(configuration.candidates(for: "db.a.b") == ["db.a.b", "db.a.b.corp.example", "db.a.b.example.net"])
        #expect(configuration.candidates(for: "db.") == ["db."])
        #expect(ResolverConfiguration(resolvConf: "", hosts: "").nameServers.map(\.address) == ["127.0.0.1"])
    }

    @Test func lookupsRunTogetherOnTheCallersThreadAndASlowNameDelaysOnlyItself() throws {
        let server = try FakeNameServer(records: ["fast-a.test": "10.0.0.1", "fast-b.test": "10.0.0.2", "slow.test": "10.0.0.3"],
                                        delays: ["slow.test": 0.4])
        defer { server.stop() }
        var configuration = ResolverConfiguration(resolvConf: "options timeout:2 attempts:1", hosts: "10.7.7.7 from-hosts.test")
        configuration.nameServers = [.init(address: "127.0.0.1", port: server.port)]
        let loop = try MonitorLoop(name: "dns-test", threading: .callersThread)
        defer { loop.shutdown() }
        let resolver = loop.perform { LoopNameResolver(loop: loop, configuration: configuration) }
        var finished: [String: (UInt64, [String])] = [:]
        let start = MonotonicClock.nanoseconds()
        loop.perform {
            for name in ["slow.test", "fast-a.test", "fast-b.test", "from-hosts.test", "missing.test"] {
                resolver.resolve(host: name, port: 27017) { result in
                    let text = (try? result.get())?.map { "\($0)" } ?? ["error: \(result)"]
                    finished[name] = (MonotonicClock.nanoseconds() - start, text)
                }
            }
        }
        loop.run(until: MonotonicClock.nanoseconds() + 5_000_000_000) { finished.count == 5 }
        #expect(finished.count == 5)
        #expect(finished["fast-a.test"]?.1 == ["10.0.0.1:27017"])
        #expect(finished["from-hosts.test"]?.1 == ["10.7.7.7:27017"])
        #expect(finished["missing.test"]?.1.first?.contains("NXDOMAIN") == true, "\(String(describing: finished["missing.test"]))")
        let fast = try #require(finished["fast-b.test"]?.0)
        let slow = try #require(finished["slow.test"]?.0)
        #expect(fast < 300_000_000, "a fast name waited \(fast / 1_000_000) ms behind the slow one")
        #expect(slow >= 400_000_000, "the slow answer came after its delay")
        #expect(resolver.pendingCount == 0)
    }
}

/// A UDP name server on loopback for the tests: A records from a table, NXDOMAIN otherwise,
/// AAAA answered empty; some names answered after a delay. It runs on a thread of its own.
final class FakeNameServer: @unchecked Sendable {  // fd is set in init and only read; `stopped` is guarded by its ConditionLock
    let port: UInt16
    private let fd: Int32
    private let stopped = ConditionLock(false)
    private let thread: Thread

    init(records: [String: String], delays: [String: Double] = [:]) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        var timeout = timeval(tv_sec: 0, tv_usec: 50_000)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
        let stopped = self.stopped
        thread = Thread {
            var delayed: [(Date, [UInt8], sockaddr_in)] = []
            while !stopped.withLock({ $0 }) {
                var buffer = [UInt8](repeating: 0, count: 512)
                var peer = sockaddr_in()
                var peerLength = socklen_t(MemoryLayout<sockaddr_in>.size)
                let n = buffer.withUnsafeMutableBytes { raw in
                    withUnsafeMutablePointer(to: &peer) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, raw.baseAddress, raw.count, 0, $0, &peerLength) } }
                }
                if n > 12 {
                    let query = Array(buffer[0..<n])
                    let (name, type) = Self.question(query)
                    let reply = Self.answer(to: query, addresses: type == DNSMessage.typeA ? records[name].map { [$0] } ?? [] : [],
                                            code: records[name] == nil ? 3 : 0)
                    delayed.append((Date().addingTimeInterval(delays[name] ?? 0), reply, peer))
                }
                let now = Date()
                for (due, reply, target) in delayed where due <= now {
                    var target = target
                    _ = reply.withUnsafeBytes { raw in
                        withUnsafeMutablePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            sendto(fd, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                    }
                }
                delayed.removeAll { $0.0 <= now }
            }
        }
        thread.start()
    }

    func stop() {
        stopped.withLock { $0 = true }
        while !thread.isFinished { usleep(10_000) }
        _ = Glibc.close(fd)
    }

    static func question(_ query: [UInt8]) -> (String, UInt16) {
        var labels: [String] = []
        var i = 12
        while i < query.count, query[i] != 0 {
            let length = Int(query[i])
            labels.append(String(decoding: query[(i + 1)..<(i + 1 + length)], as: UTF8.self))
            i += length + 1
        }
        let type = UInt16(query[i + 1]) << 8 | UInt16(query[i + 2])
        return (labels.joined(separator: "."), type)
    }

    /// The response to `query`: its question echoed, one A record per address (a compression
    /// pointer to the question's name), the response code given.
    static func answer(to query: [UInt8], addresses: [String], code: UInt8) -> [UInt8] {
        var reply = Array(query[0..<2]) + [0x81, 0x80 | code, 0, 1, 0, UInt8(addresses.count), 0, 0, 0, 0]
        var end = 12
        while query[end] != 0 { end += Int(query[end]) + 1 }
        reply += query[12..<(end + 5)]
        for address in addresses {
            reply += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + address.split(separator: ".").map { UInt8($0)! }
        }
        return reply
    }
}
