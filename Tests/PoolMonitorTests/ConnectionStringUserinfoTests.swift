import Testing
import PoolMonitor

/// Userinfo and auth database: percent-decoding, the spec's forbidden characters, and a
/// description that never shows the password.
@Suite struct ConnectionStringUserinfoTests {
    @Test func userinfoIsPercentDecoded() throws {
        let uri = try ConnectionString("mongodb://us%3Aer:p%40ss%2Fw%25rd@localhost/my%3Fdb")
        #expect(uri.username == "us:er")
        #expect(uri.password == "p@ss/w%rd")
        #expect(uri.authDatabase == "my?db")
    }

    @Test func passwordIsNilWithoutColonAndEmptyWithOne() throws {
        #expect(try ConnectionString("mongodb://alice@h").password == nil)
        #expect(try ConnectionString("mongodb://alice:@h").password == "")
        #expect(try ConnectionString("mongodb://h").username == nil)
    }

    @Test func plusIsNotASpace() throws {
        #expect(try ConnectionString("mongodb://a+b:c%20d@h").username == "a+b")
        #expect(try ConnectionString("mongodb://a+b:c%20d@h").password == "c d")
    }

    @Test func emptyPathIsNoAuthDatabase() throws {
        #expect(try ConnectionString("mongodb://h/").authDatabase == nil)
        #expect(try ConnectionString("mongodb://h/?w=1").authDatabase == nil)
        #expect(try ConnectionString("mongodb://h?w=1").authDatabase == nil)
    }

    @Test(arguments: [
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
    ])
    func rejectsWithAMessageNamingThePart(_ text: String, _ message: String) {
        expectConnectionStringError(text, message)
    }

    @Test func descriptionHidesThePassword() throws {
        let uri = try ConnectionString("mongodb://alice:s3cret@h1,h2:27018/admin?w=1")
        #expect(uri.description == "mongodb://alice:***@h1:27017,h2:27018/admin")
        #expect(!"\(uri)".contains("s3cret"))
    }
}
