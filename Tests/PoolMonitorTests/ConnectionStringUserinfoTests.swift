import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

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

    @Test func descriptionHidesThePassword() throws {
        let uri = try ConnectionString("mongodb://alice:s3cret@h1,h2:27018/admin?w=1")
        #expect(uri.description == "mongodb://alice:***@h1:27017,h2:27018/admin")
        #expect(!"\(uri)".contains("s3cret"))
    }
}
