import Testing
@testable import SDAMCore

/// Addresses as servers write them in `hosts`, `me` and `primary`, read by byte.
@Suite struct ServerAddressParsingTests {
    @Test func hostsPortsAndIPv6Literals() {
        #expect(ServerAddress("a") == ServerAddress(host: "a", port: 27017))
        #expect(ServerAddress("Db.Example:1") == ServerAddress(host: "db.example", port: 1))
        #expect(ServerAddress("db:65535")?.port == 65535)
        #expect(ServerAddress("db:027017")?.port == 27017, "leading zeros are digits too")
        #expect(ServerAddress("[::1]:27018") == ServerAddress(host: "::1", port: 27018))
        #expect(ServerAddress("[::1]") == ServerAddress(host: "::1", port: 27017))
        #expect(ServerAddress("[FE80::1]")?.host == "fe80::1")
        #expect(ServerAddress("[::1]")?.isIPv6Literal == true)
        #expect(ServerAddress("[::1]:27018")?.description == "[::1]:27018")
        #expect(ServerAddress("ÄBC.example:2")?.host == "äbc.example", "non-ASCII names are lowercased as Unicode")
    }

    @Test func malformedAddressesAreRefused() {
        for text in ["", ":27017", "a:", "a:0", "a:65536", "a:99999999999999999999", "a:1x", "a:-1", "a:b:c",
                     "[::1", "[::1]x", "[::1]:", "[]:1", "a: 1"] {
            #expect(ServerAddress(text) == nil, "\(text)")
        }
    }

    @Test func lowercasingByByteMatchesLowercased() {
        for host in ["db.example", "DB.EXAMPLE", "Mixed-Case_1.Example", "ü.example", "Ünïcode.EXAMPLE", ""] {
            #expect(ServerAddress.lowercasedHost(host) == host.lowercased(), "\(host)")
        }
    }
}
