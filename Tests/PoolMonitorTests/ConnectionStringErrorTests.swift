import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The wording of every kind of rejection: each message names the offending part and what was
/// expected, so a user can fix the string without reading the spec.
@Suite struct ConnectionStringErrorTests {
    @Test(arguments: [
        // Hosts and ports
        ("mongodb://a:0", "port 0 of host 'a:0' is out of range 1-65535"),
        ("mongodb://a:99999", "port 99999 of host 'a:99999' is out of range 1-65535"),
        ("mongodb://a:+1", "port '+1' of host 'a:+1' is not a number"),
        ("mongodb://a:", "port '' of host 'a:' is not a number"),
        ("mongodb://a,,b", "invalid host '': empty host (two commas in a row, or a trailing comma?)"),
        ("mongodb://[::1", "invalid host '[::1': IP literal has no closing ']'"),
        ("mongodb://[zz]", "invalid host '[zz]': 'zz' is not an IPv6 address"),
        ("mongodb://%2Ftmp%2Fmongo", "invalid host '/tmp/mongo': a UNIX domain socket path must end in '.sock'"),
        ("mongodb:///tmp/m.sock", "invalid host '/tmp/m.sock': UNIX domain socket paths must be percent-encoded ('/' as %2F)"),
        // mongodb+srv
        ("mongodb+srv://a.example.com:27017", "invalid mongodb+srv connection string: host 'a.example.com:27017' must not have a port (SRV records give the ports)"),
        ("mongodb+srv://a.example.com,b.example.com", "invalid mongodb+srv connection string: expected exactly one host name, found 2"),
        ("mongodb+srv://[::1]", "invalid mongodb+srv connection string: '[::1]:27017' is an IP literal, not a host name"),
        ("mongodb+srv://a.example.com/?directConnection=true", "conflicting options: directConnection=true cannot be used with mongodb+srv, which may resolve to several hosts"),
        ("mongodb://a.example.com/?srvMaxHosts=1", "conflicting options: srvMaxHosts requires the mongodb+srv scheme"),
        // Userinfo and auth database
        ("mongodb://a:b:c@h", "invalid userinfo: it contains more than one unescaped ':' (use %3A); username and password must be percent-encoded"),
        ("mongodb://a@b@h", "invalid userinfo: it contains an unescaped '@' (use %40); username and password must be percent-encoded"),
        ("mongodb://a%zz@h", "invalid userinfo: it contains a '%' not followed by two hex digits (use %25); username and password must be percent-encoded"),
        ("mongodb://a#b@h", "invalid userinfo: character '#' is not allowed unescaped; username and password must be percent-encoded"),
        ("mongodb://:pw@h", "invalid userinfo: the username is empty; username and password must be percent-encoded"),
        ("mongodb://a%FF@h", "invalid percent-encoding in username 'a%FF': '%' must be followed by two hex digits encoding UTF-8"),
        ("mongodb://a/b@h/db", "invalid userinfo: it contains an unescaped '/' (use %2F), or the auth database an unescaped '@' (use %40); username and password must be percent-encoded"),
        ("mongodb://h/a%24b", "invalid auth database 'a$b': '$' is not allowed in a database name"),
        ("mongodb://h/a%20b", "invalid auth database 'a b': space is not allowed in a database name"),
        ("mongodb://h/a%5Cb", "invalid auth database 'a\\b': '\\' is not allowed in a database name"),
        // Options the specs make errors
        ("mongodb://h/?readPreferenceTags=dc:ny", "conflicting options: readPreferenceTags cannot be used with read preference mode primary"),
        ("mongodb://h/?readPreference=primary&maxStalenessSeconds=90", "conflicting options: maxStalenessSeconds=90 cannot be used with read preference mode primary"),
        ("mongodb://h1,h2/?directConnection=true", "conflicting options: directConnection=true requires exactly one host, found 2"),
        ("mongodb://h/?loadBalanced=true&replicaSet=rs", "conflicting options: loadBalanced=true cannot be used with replicaSet"),
        ("mongodb://h/?tlsInsecure=true&tlsAllowInvalidHostnames=false", "conflicting options: tlsInsecure and tlsAllowInvalidHostnames cannot both be given"),
        ("mongodb://h/?tls=true&ssl=false", "conflicting options: tls and ssl are given with different values; they are aliases and must agree"),
        ("mongodb://h/?w=0&journal=true", "conflicting options: w=0 (unacknowledged) cannot be used with journal=true"),
        ("mongodb://h/?minPoolSize=10&maxPoolSize=5", "conflicting options: minPoolSize=10 is greater than maxPoolSize=5"),
        ("mongodb://h/?proxyHost=p&proxyHost=q", "option proxyHost: given 2 times; a proxy option may be given only once"),
        ("mongodb://h/?w", "option w: expected 'key=value', found no '='"),
        ("mongodb://h/?=1", "option =1: the option name is empty"),
        ("mongodb://h/?appname=a%2", "invalid percent-encoding in option appname 'a%2': '%' must be followed by two hex digits encoding UTF-8"),
    ])
    func messageNamesTheOffendingPart(_ text: String, _ message: String) {
        do {
            let parsed = try ConnectionString(text)
            Issue.record("expected an error for \(text), parsed \(parsed)")
        } catch {
            #expect(error.description == message)
        }
    }
}
