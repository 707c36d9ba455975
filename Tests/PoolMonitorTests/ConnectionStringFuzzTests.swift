import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Random and mutated connection strings always end in a value or a typed error: no trap, no
/// hang, and a parsed value always satisfies the parser's promises.
@Suite struct ConnectionStringFuzzTests {
    /// Pieces that reach every branch of the grammar more often than random bytes would.
    static let pieces: [String] = [
        "mongodb://", "mongodb+srv://", "@", ":", "::", "/", "?", "&", "=", ",", "%", "%2F", "%2f", "%40", "%3A",
        "%ZZ", "%F", "%FF", "%C3%A9", "[", "]", "[::1]", ".sock", "a", "Host", "example.com", "127.0.0.1", "0", "1",
        "27017", "65536", "-1", "-", "é", "\u{0}", " ", "#", "\\", "$", "\"", ";", "+",
        "replicaSet", "directConnection", "loadBalanced", "tls", "ssl", "tlsInsecure", "tlsAllowInvalidHostnames",
        "readPreference", "readPreferenceTags", "maxStalenessSeconds", "heartbeatFrequencyMS", "maxPoolSize",
        "minPoolSize", "w", "journal", "srvMaxHosts", "srvServiceName", "proxyHost", "proxyPort", "proxyUsername",
        "authMechanismProperties", "compressors", "true", "false", "secondary", "primary", "dc:ny", "k:v,k2",
    ]

    static let seeds: [String] = [
        "mongodb://alice:foo@127.0.0.1,[::1]:27018,example.com/admin?replicaSet=rs&w=majority",
        "mongodb+srv://cluster0.example.com/?srvMaxHosts=2&srvServiceName=mongodb",
        "mongodb://%2Ftmp%2Fmongodb-27017.sock,rel%2Fm.sock/db?readPreference=secondary&readPreferenceTags=dc:ny",
        "mongodb://h/?tls=true&ssl=true&tlsCAFile=ca.pem&proxyHost=p&proxyUsername=u&proxyPassword=p",
        "mongodb://h?heartbeatFrequencyMS=500&maxPoolSize=10&minPoolSize=1&directConnection=true",
    ]

    static func randomString(_ rng: inout SplitMix64) -> String {
        let count = Int.random(in: 0...24, using: &rng)
        var text = Bool.random(using: &rng) ? "mongodb://" : ""
        for _ in 0..<count { text += pieces.randomElement(using: &rng) ?? "" }
        return text
    }

    static func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(text)
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let piece = Array(pieces.randomElement(using: &rng) ?? "")
            let at = Int.random(in: 0...chars.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: chars.insert(contentsOf: piece, at: at)
            case 1: if at < chars.count { chars.remove(at: at) }
            case 2: if at < chars.count { chars[at] = piece.first ?? "x" }
            default: chars = Array(chars.prefix(at))
            }
        }
        return String(chars)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func everyInputEndsInAValueOrATypedError(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var parsed = 0
        var rejected = 0
        for i in 0..<4000 {
            let text = i.isMultiple(of: 2)
                ? Self.randomString(&rng)
                : Self.mutate(Self.seeds.randomElement(using: &rng) ?? "", &rng)
            do {
                let uri = try ConnectionString(text)
                parsed += 1
                #expect(!uri.hosts.isEmpty, "seed \(seed): \(text)")
                if uri.isSRV { #expect(uri.hosts.count == 1, "seed \(seed): \(text)") }
                for case .tcp(let address) in uri.hosts {
                    #expect(address.port > 0 && !address.host.isEmpty, "seed \(seed): \(text)")
                }
                for case .unixSocket(let path) in uri.hosts {
                    #expect(path.hasSuffix(".sock"), "seed \(seed): \(text)")
                }
                #expect(try ConnectionString(text) == uri, "parsing is deterministic")
            } catch {
                rejected += 1
                #expect(!error.description.isEmpty)
            }
        }
        // Both outcomes must be exercised, or the generator tests nothing.
        #expect(parsed > 200, "seed \(seed): only \(parsed) inputs parsed")
        #expect(rejected > 200, "seed \(seed): only \(rejected) inputs rejected")
    }
}
