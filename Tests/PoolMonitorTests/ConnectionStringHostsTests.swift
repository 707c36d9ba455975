import Testing
import PoolMonitor

/// Host information: host kinds, ports, normalisation, UNIX sockets and mongodb+srv's rules.
@Suite struct ConnectionStringHostsTests {
    @Test func hostnamesAreLowercasedAndPortsDefaultTo27017() throws {
        let uri = try ConnectionString("mongodb://Example.COM,db2.example.com:27018")
        #expect(uri.hosts == [
            .tcp(ServerAddress(host: "example.com", port: 27017)),
            .tcp(ServerAddress(host: "db2.example.com", port: 27018)),
        ])
        #expect(uri.hosts.map(\.kind) == [.hostname, .hostname])
        #expect(!uri.isSRV)
    }

    @Test func addressKindsLetAConnectorSkipNameResolution() throws {
        let uri = try ConnectionString("mongodb://127.0.0.1,[::1]:27019,256.0.0.1,%2Ftmp%2Fm.sock")
        #expect(uri.hosts.map(\.kind) == [.ipv4, .ipLiteral, .hostname, .unix])
        #expect(uri.hosts[1].serverAddress == ServerAddress(host: "::1", port: 27019))
        #expect(uri.hosts[3] == .unixSocket(path: "/tmp/m.sock"))
        #expect(uri.hosts[3].serverAddress == nil)
    }

    @Test func unixSocketPathKeepsItsCase() throws {
        let uri = try ConnectionString("mongodb://%2Ftmp%2FMongoDB.sock/admin")
        #expect(uri.hosts == [.unixSocket(path: "/tmp/MongoDB.sock")])
        #expect(uri.authDatabase == "admin")
    }

    @Test(arguments: [
        "mongodb://a:1", "mongodb://a:65535", "mongodb://[fe80::1]:1",
    ])
    func portsAtTheEdgesOfTheRangeAreAccepted(_ text: String) throws {
        #expect(throws: Never.self) { try ConnectionString(text) }
    }

    @Test(arguments: [
        ("mongodb://a:0", "port 0 of host 'a:0' is out of range 1-65535"),
        ("mongodb://a:99999", "port 99999 of host 'a:99999' is out of range 1-65535"),
        ("mongodb://a:+1", "port '+1' of host 'a:+1' is not a number"),
        ("mongodb://a:", "port '' of host 'a:' is not a number"),
        ("mongodb://a,,b", "invalid host '': empty host (two commas in a row, or a trailing comma?)"),
        ("mongodb://[::1", "invalid host '[::1': IP literal has no closing ']'"),
        ("mongodb://[zz]", "invalid host '[zz]': 'zz' is not an IPv6 address"),
        ("mongodb://%2Ftmp%2Fmongo", "invalid host '/tmp/mongo': a UNIX domain socket path must end in '.sock'"),
        ("mongodb:///tmp/m.sock", "invalid host '/tmp/m.sock': UNIX domain socket paths must be percent-encoded ('/' as %2F)"),
    ])
    func badHostsAreRejectedWithTheirName(_ text: String, _ message: String) {
        expectConnectionStringError(text, message)
    }

    @Test func srvKeepsItsOneNameUntilResolution() throws {
        let uri = try ConnectionString("mongodb+srv://Cluster0.Example.com/?srvServiceName=custom&srvMaxHosts=3")
        #expect(uri.isSRV)
        #expect(uri.hosts == [.tcp(ServerAddress(host: "cluster0.example.com"))])
        #expect(uri.options.srvServiceName == "custom")
        #expect(uri.options.srvMaxHosts == 3)
        #expect(uri.usesTLS, "mongodb+srv defaults to TLS")
        #expect(try !ConnectionString("mongodb+srv://a.example.com/?tls=false").usesTLS)
        #expect(try !ConnectionString("mongodb://a.example.com").usesTLS)
    }

    @Test(arguments: [
        ("mongodb+srv://a.example.com:27017", "invalid mongodb+srv connection string: host 'a.example.com:27017' must not have a port (SRV records give the ports)"),
        ("mongodb+srv://a.example.com,b.example.com", "invalid mongodb+srv connection string: expected exactly one host name, found 2"),
        ("mongodb+srv://[::1]", "invalid mongodb+srv connection string: '[::1]:27017' is an IP literal, not a host name"),
        ("mongodb+srv://a.example.com/?directConnection=true", "conflicting options: directConnection=true cannot be used with mongodb+srv, which may resolve to several hosts"),
        ("mongodb://a.example.com/?srvMaxHosts=1", "conflicting options: srvMaxHosts requires the mongodb+srv scheme"),
    ])
    func srvRules(_ text: String, _ message: String) {
        expectConnectionStringError(text, message)
    }

    @Test func invalidSrvServiceNameIsIgnoredWithAWarning() throws {
        let uri = try ConnectionString("mongodb+srv://a.example.com/?srvServiceName=no--good")
        #expect(uri.options.srvServiceName == nil)
        #expect(uri.warnings.count == 1)
    }
}
