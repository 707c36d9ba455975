import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This process's TCP sockets on given local ports, from /proc: a leak check that other suites
/// running in parallel (and opening descriptors of their own) cannot disturb.
enum SimulatorSockets {
    /// How many of this process's descriptors are IPv4 TCP sockets whose local port is in
    /// `ports` (listeners and accepted connections of the simulator).
    static func openDescriptors(onPorts ports: Set<UInt16>) -> Int {
        let inodes = tcpInodes(localPorts: ports)
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return fds.filter { fd in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return false }
            return inodes.contains(String(target.dropFirst(8).dropLast()))
        }.count
    }

    /// Whether a plain socket (without SO_REUSEADDR) can bind 127.0.0.1:`port`: false while any
    /// socket holds the port, the simulator's bound-but-not-listening reservation included
    /// (which /proc/net/tcp does not list).
    static func canBindExclusively(port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// Inodes of /proc/net/tcp entries whose local port is in `ports`.
    private static func tcpInodes(localPorts ports: Set<UInt16>) -> Set<String> {
        // /proc files report size 0: read to the end rather than trusting String(contentsOfFile:),
        // which stops after the first page.
        guard let handle = FileHandle(forReadingAtPath: "/proc/net/tcp") else { return [] }
        defer { try? handle.close() }
        let table = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        var inodes: Set<String> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, let colon = fields[1].lastIndex(of: ":"),
                  let port = UInt16(fields[1][fields[1].index(after: colon)...], radix: 16),
                  ports.contains(port) else { continue }
            inodes.insert(String(fields[9]))
        }
        return inodes
    }
}
