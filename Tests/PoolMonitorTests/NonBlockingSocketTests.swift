import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

@Suite struct NonBlockingSocketTests {
    @Test func ipLiteralsNeedNoResolution() {
        #expect(NameResolver.literal(host: "127.0.0.1", port: 27017)?.map(\.description) == ["127.0.0.1:27017"])
        #expect(NameResolver.literal(host: "::1", port: 5)?.map(\.description) == ["[::1]:5"])
        #expect(NameResolver.literal(host: "localhost", port: 5) == nil)
    }

    @Test func localhostResolvesOffThread() {
        let result = NameResolver.resolveBlocking(host: "localhost", port: 27017)
        let addresses = (try? result.get()) ?? []
        #expect(addresses.contains { $0.description == "127.0.0.1:27017" || $0.description == "[::1]:27017" })
    }

    @Test func unknownHostIsATypedError() {
        let result = NameResolver.resolveBlocking(host: "no-such-host.invalid", port: 1)
        guard case .failure(let error) = result else {
            Issue.record("expected a resolution failure")
            return
        }
        #expect(error.description.contains("no-such-host.invalid"))
    }

    @Test func connectWriteAndReadOverLoopback() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        let (sock, _) = try NonBlockingSocket.connect(to: listener.address)
        defer { sock.close() }
        let peer = listener.acceptOne()
        #expect(peer >= 0)
        var pfd = pollfd(fd: sock.fd, events: Int16(POLLOUT), revents: 0)
        #expect(poll(&pfd, 1, 5_000) == 1)
        try sock.finishConnect()
        #expect(try sock.write([1, 2, 3], from: 0) == 3)
        var got = [UInt8](repeating: 0, count: 3)
        #expect(recv(peer, &got, 3, Int32(MSG_WAITALL)) == 3)
        #expect(got == [1, 2, 3])
        var buffer = [UInt8](repeating: 0, count: 16)
        let nothing = try buffer.withUnsafeMutableBytes { try sock.read(into: $0) }
        #expect(nothing == .wouldBlock)
        shutdown(peer, Int32(SHUT_RDWR))  // EOF for our socket; the listener closes it once, later
        var rfd = pollfd(fd: sock.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&rfd, 1, 5_000) == 1)
        let eof = try buffer.withUnsafeMutableBytes { try sock.read(into: $0) }
        #expect(eof == .endOfStream)
    }

    @Test func aConnectTheKernelFinishedAtOnceIsReportedConnectedAndIsWritable() throws {
        let listener = try LoopbackListener()
        defer { listener.close() }
        var atOnce = 0
        for round in 0..<20 {
            let (sock, connected) = try NonBlockingSocket.connect(to: listener.address)
            defer { sock.close() }
            let peer = listener.acceptOne()
            #expect(peer >= 0)
            guard connected else { continue }
            atOnce += 1
            // Reported connected: written to at once, without waiting for writability.
            let byte = UInt8(round)
            #expect(try sock.write([byte], from: 0) == 1)
            var got: UInt8 = 0
            #expect(recv(peer, &got, 1, Int32(MSG_WAITALL)) == 1)
            #expect(got == byte)
        }
        // The kernel completes a loopback handshake within connect(), unless it left the
        // packets to ksoftirqd (a loaded machine): most of 20 connects report it.
        #expect(atOnce > 0)
    }

    @Test func refusedConnectionNamesThePeer() throws {
        let listener = try LoopbackListener()
        let address = listener.address
        listener.close()  // nothing listens there now
        do {
            let (sock, connected) = try NonBlockingSocket.connect(to: address)
            #expect(!connected)
            var pfd = pollfd(fd: sock.fd, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, 5_000)
            #expect(throws: SocketError.self) { try sock.finishConnect() }
            do {
                try sock.finishConnect()
            } catch {
                #expect(error.description.contains(address.description))
            }
        } catch {
            #expect(error.description.contains(address.description))
        }
    }
}
