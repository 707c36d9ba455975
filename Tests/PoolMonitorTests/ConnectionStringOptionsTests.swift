import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The options discovery, selection and pools read, their validation, and the warnings for
/// what is ignored.
@Suite struct ConnectionStringOptionsTests {
    @Test func optionsNotGivenAreNil() throws {
        let uri = try ConnectionString("mongodb://h")
        #expect(uri.options == ConnectionOptions())
        #expect(uri.warnings.isEmpty)
    }

    @Test func discoveryAndPoolOptionsAreTyped() throws {
        let uri = try ConnectionString(
            "mongodb://h1,h2/?replicaSet=rs0&directConnection=false&heartbeatFrequencyMS=500"
                + "&serverSelectionTimeoutMS=2000&serverSelectionTryOnce=false&localThresholdMS=0"
                + "&connectTimeoutMS=0&socketTimeoutMS=100&maxPoolSize=0&minPoolSize=2&maxIdleTimeMS=60000"
                + "&waitQueueTimeoutMS=50&maxConnecting=3&appname=my%20app&serverMonitoringMode=poll&timeoutMS=9000000000")
        let o = uri.options
        #expect(o.replicaSet == "rs0")
        #expect(o.directConnection == false)
        #expect(o.heartbeatFrequencyMS == 500)
        #expect(o.serverSelectionTimeoutMS == 2000)
        #expect(o.serverSelectionTryOnce == false)
        #expect(o.localThresholdMS == 0)
        #expect(o.connectTimeoutMS == 0)
        #expect(o.socketTimeoutMS == 100)
        #expect(o.maxPoolSize == 0)
        #expect(o.minPoolSize == 2)
        #expect(o.maxIdleTimeMS == 60000)
        #expect(o.waitQueueTimeoutMS == 50)
        #expect(o.maxConnecting == 3)
        #expect(o.appName == "my app")
        #expect(o.serverMonitoringMode == .poll)
        #expect(o.timeoutMS == 9_000_000_000)
        #expect(uri.warnings.isEmpty)
    }

    @Test func keysAreCaseInsensitive() throws {
        let uri = try ConnectionString("mongodb://h/?REPLICASET=rs&HeartBeatFrequencyMs=1000&DIRECTCONNECTION=true")
        #expect(uri.options.replicaSet == "rs")
        #expect(uri.options.heartbeatFrequencyMS == 1000)
        #expect(uri.options.directConnection == true)
    }

    @Test func valuesAreCaseSensitiveExceptReadPreferenceMode() throws {
        let uri = try ConnectionString("mongodb://h/?replicaSet=RS&readPreference=SECONDARYpreferred&tls=TRUE")
        #expect(uri.options.replicaSet == "RS")
        #expect(uri.options.readPreference?.mode == .secondaryPreferred)
        #expect(uri.options.tls == nil)
        #expect(uri.warnings == ["option tls=TRUE: expected 'true' or 'false' (ignored)"])
    }

    @Test func readPreferenceCollectsTagSetsInOrder() throws {
        let uri = try ConnectionString(
            "mongodb://h/?readPreference=nearest&readPreferenceTags=dc:ny,rack:1&readPreferenceTags=&maxStalenessSeconds=120")
        #expect(uri.options.readPreference == ReadPreference(
            mode: .nearest, tagSets: [["dc": "ny", "rack": "1"], [:]], maxStalenessSeconds: 120))
        #expect(uri.warnings.isEmpty, "a repeated list option is no warning")
    }

    @Test func maxStalenessMinusOneMeansNoMaximum() throws {
        let uri = try ConnectionString("mongodb://h/?readPreference=secondary&maxStalenessSeconds=-1")
        #expect(uri.options.readPreference == ReadPreference(mode: .secondary))
        #expect(try ConnectionString("mongodb://h/?maxStalenessSeconds=-1").options.readPreference == .primary)
    }

    @Test(arguments: [
        ("heartbeatFrequencyMS=100", "option heartbeatFrequencyMS=100: must be at least 500 (ignored)"),
        ("maxConnecting=0", "option maxConnecting=0: must be positive (ignored)"),
        ("maxPoolSize=-1", "option maxPoolSize=-1: must be non-negative (ignored)"),
        ("connectTimeoutMS=1.5", "option connectTimeoutMS=1.5: expected an integer (ignored)"),
        ("socketTimeoutMS=99999999999", "option socketTimeoutMS=99999999999: integer out of range -2147483648...2147483647 (ignored)"),
        ("serverMonitoringMode=push", "option serverMonitoringMode=push: expected 'auto', 'stream' or 'poll' (ignored)"),
        ("readPreference=fastest", "option readPreference=fastest: expected one of primary, primaryPreferred, secondary, secondaryPreferred, nearest (ignored)"),
        ("maxStalenessSeconds=0", "option maxStalenessSeconds=0: must be -1 (no maximum) or a positive number of seconds (ignored)"),
        ("journal=", "option journal=: empty value (ignored)"),
        ("connectMS=10", "unsupported option 'connectMS' (ignored)"),
        ("compressors=zlib,lz4", "option compressors: unsupported compressor 'lz4' (ignored)"),
        ("replicaSet=a&replicaSet=b", "option replicaSet is given 2 times; the last valid value is used"),
    ])
    func invalidValuesAreIgnoredWithAWarning(_ query: String, _ warning: String) throws {
        let uri = try ConnectionString("mongodb://h/?" + query)
        #expect(uri.warnings == [warning])
    }

    @Test func anIgnoredValueLeavesTheOptionUnset() throws {
        let uri = try ConnectionString("mongodb://h/?heartbeatFrequencyMS=100&maxPoolSize=x")
        #expect(uri.options.heartbeatFrequencyMS == nil)
        #expect(uri.options.maxPoolSize == nil)
    }

    @Test func theLastValidRepeatedValueWins() throws {
        let uri = try ConnectionString("mongodb://h/?replicaSet=a&replicaSet=b&heartbeatFrequencyMS=600&heartbeatFrequencyMS=1")
        #expect(uri.options.replicaSet == "b")
        #expect(uri.options.heartbeatFrequencyMS == 600)
    }

    @Test func otherSpecsOptionsAreParsedToo() throws {
        let uri = try ConnectionString(
            "mongodb://u@h/?authMechanism=MONGODB-OIDC&authSource=%24external"
                + "&authMechanismProperties=TOKEN_RESOURCE:mongodb://x,ENVIRONMENT:azure"
                + "&compressors=zstd,zlib&zlibCompressionLevel=-1&retryReads=false&retryWrites=true"
                + "&w=majority&journal=true&wTimeoutMS=10000000000&readConcernLevel=local"
                + "&ssl=true&tlsCAFile=ca.pem&tlsAllowInvalidHostnames=true"
                + "&proxyHost=p&proxyPort=1080&proxyUsername=x&proxyPassword=y"
                + "&maxAdaptiveRetries=2&enableOverloadRetargeting=true")
        let o = uri.options
        #expect(o.authMechanism == "MONGODB-OIDC")
        #expect(o.authSource == "$external")
        #expect(o.authMechanismProperties == ["TOKEN_RESOURCE": "mongodb://x", "ENVIRONMENT": "azure"])
        #expect(o.compressors == ["zstd", "zlib"])
        #expect(o.zlibCompressionLevel == -1)
        #expect(o.retryReads == false && o.retryWrites == true)
        #expect(o.w == .tag("majority") && o.journal == true && o.wTimeoutMS == 10_000_000_000)
        #expect(o.readConcernLevel == "local")
        #expect(o.tls == true && o.tlsCAFile == "ca.pem" && o.tlsAllowInvalidHostnames == true)
        #expect(o.proxyHost == "p" && o.proxyPort == 1080 && o.proxyUsername == "x" && o.proxyPassword == "y")
        #expect(o.maxAdaptiveRetries == 2 && o.enableOverloadRetargeting == true)
        #expect(uri.warnings.isEmpty)
        #expect(try ConnectionString("mongodb://h/?w=2").options.w == .count(2))
    }
}
