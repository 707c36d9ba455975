import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

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

    @Test func invalidSrvServiceNameIsIgnoredWithAWarning() throws {
        let uri = try ConnectionString("mongodb+srv://a.example.com/?srvServiceName=no--good")
        #expect(uri.options.srvServiceName == nil)
        #expect(uri.warnings.count == 1)
    }
}
