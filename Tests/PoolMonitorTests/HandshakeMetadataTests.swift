import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor
#if canImport(Glibc)
import Glibc
#endif

/// The handshake per the handshake spec: OP_MSG for every handshake, `backpressure: "2"`, the
/// complete `client` document (driver, os, platform, application, FaaS and container `env`)
/// and its 512-byte limit, met by dropping fields in the spec's order.
@Suite struct HandshakeMetadataTests {
    typealias Environment = ClientMetadata.Environment

    func command(_ message: WireMessage) throws -> BSONDocument {
        guard case .msg(let msg) = message.payload else {
            throw TestFailure("expected OP_MSG, got \(message.opCode)")
        }
        #expect(msg.flags.isEmpty, "no moreToCome, no exhaustAllowed on a handshake")
        #expect(msg.documentSequences.isEmpty)
        return try BSONDocument(bytes: msg.body)
    }

    struct TestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// A metadata value with every field set, as on a Linux host in a Lambda in Kubernetes.
    func fullMetadata(appName: String? = "app", region: String = "us-east-2", platform: String = ClientMetadata.defaultPlatform) -> ClientMetadata {
        ClientMetadata(
            applicationName: appName,
            os: .init(type: "Linux", name: "Debian GNU/Linux 12 (bookworm)", architecture: "x86_64", version: "6.1.0-18-amd64"),
            platform: platform,
            environment: Environment(name: "aws.lambda", memoryMB: 1024, region: region,
                                     containerRuntime: "docker", containerOrchestrator: "kubernetes"))
    }

    // MARK: - Framing

    @Test func everyHandshakeIsOpMsgOnAdminWithBackpressureTwo() throws {
        for loadBalanced in [false, true] {
            let message = Handshake.handshakeMessage(requestID: 7, metadata: fullMetadata(), loadBalanced: loadBalanced)
            #expect(message.requestID == 7)
            let command = try command(message)
            #expect(command.keys.first == (loadBalanced ? "hello" : "isMaster"))
            #expect(command["helloOk"] == .bool(true))
            #expect(command["backpressure"] == .string("2"), "the string \"2\", not a number or a boolean")
            #expect(command["$db"] == .string("admin"))
            #expect(command["loadBalanced"] == (loadBalanced ? .bool(true) : nil))
            #expect(command["client"]?.documentValue == fullMetadata().document)
            #expect(command["saslSupportedMechs"] == nil && command["speculativeAuthenticate"] == nil)
            // It survives the wire: encoded and decoded, the same message.
            var decoder = FrameDecoder()
            decoder.append(try message.encoded())
            #expect(try decoder.nextMessage() == message)
        }
    }

    @Test func theOldSignatureFillsTheHostAndTheAppName() throws {
        let command = try command(Handshake.handshakeMessage(requestID: 1, appName: "monitor", loadBalanced: false))
        let client = try #require(command["client"]?.documentValue)
        #expect(client["application"]?.documentValue?["name"] == .string("monitor"))
        #expect(client["driver"]?.documentValue == ["name": .string(DriverIdentity.name), "version": .string(DriverIdentity.version)])
        let os = try #require(client["os"]?.documentValue)
        #expect(os["type"] == .string(HostEnvironment.current.os.type))
        #expect(os["type"] == .string("Linux"))
        #expect(os["architecture"]?.stringValue?.isEmpty == false)
        #expect(os["version"]?.stringValue?.isEmpty == false, "uname -r")
        #expect(client["platform"] == .string(ClientMetadata.defaultPlatform))
        let noApp = try self.command(Handshake.handshakeMessage(requestID: 2, appName: nil))
        #expect(noApp["client"]?.documentValue?["application"] == nil, "no default application name")
    }

    @Test func documentOrderAndFields() {
        let document = fullMetadata().document
        #expect(document.keys == ["application", "driver", "os", "platform", "env"])
        #expect(document["os"]?.documentValue?.keys == ["type", "name", "architecture", "version"])
        #expect(document["env"]?.documentValue == [
            "name": .string("aws.lambda"), "memory_mb": .int32(1024), "region": .string("us-east-2"),
            "container": .document(["runtime": .string("docker"), "orchestrator": .string("kubernetes")]),
        ])
        #expect(ClientMetadata(environment: Environment()).document["env"] == nil, "an empty env is omitted")
    }

    // MARK: - env from the process environment

    @Test func awsLambda() {
        let env = Environment(variables: [
            "AWS_EXECUTION_ENV": "AWS_Lambda_java8", "AWS_REGION": "us-east-2", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        ], dockerEnvExists: false)
        #expect(env == Environment(name: "aws.lambda", memoryMB: 1024, region: "us-east-2"))
        #expect(Environment(variables: ["AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"], dockerEnvExists: false)?.name == "aws.lambda")
    }

    @Test func awsExecutionEnvMustStartWithAWSLambda() {
        #expect(Environment(variables: ["AWS_EXECUTION_ENV": "EC2"], dockerEnvExists: false) == nil)
    }

    @Test func azureFunctions() {
        #expect(Environment(variables: ["FUNCTIONS_WORKER_RUNTIME": "node"], dockerEnvExists: false) == Environment(name: "azure.func"))
    }

    @Test func gcpFunctions() {
        let env = Environment(variables: [
            "K_SERVICE": "servicename", "FUNCTION_MEMORY_MB": "1024", "FUNCTION_TIMEOUT_SEC": "60", "FUNCTION_REGION": "us-central1",
        ], dockerEnvExists: false)
        #expect(env == Environment(name: "gcp.func", timeoutSec: 60, memoryMB: 1024, region: "us-central1"))
        #expect(Environment(variables: ["FUNCTION_NAME": "f"], dockerEnvExists: false)?.name == "gcp.func")
        #expect(env.map { ClientMetadata(environment: $0).document["env"] } == .document([
            "name": .string("gcp.func"), "timeout_sec": .int32(60), "memory_mb": .int32(1024), "region": .string("us-central1"),
        ]))
    }

    @Test func vercel() {
        let env = Environment(variables: ["VERCEL": "1", "VERCEL_REGION": "cdg1"], dockerEnvExists: false)
        #expect(env == Environment(name: "vercel", region: "cdg1"))
    }

    @Test func vercelWinsOverAWSLambdaAndOtherMixesSetNoFaaSField() {
        let vercelOnLambda = Environment(variables: [
            "VERCEL": "1", "VERCEL_REGION": "cdg1", "AWS_EXECUTION_ENV": "AWS_Lambda_nodejs18.x", "AWS_REGION": "us-east-2",
        ], dockerEnvExists: false)
        #expect(vercelOnLambda == Environment(name: "vercel", region: "cdg1"))
        #expect(Environment(variables: ["AWS_EXECUTION_ENV": "AWS_Lambda_java8", "FUNCTIONS_WORKER_RUNTIME": "node"], dockerEnvExists: false) == nil)
        // A mix still reports the container.
        #expect(Environment(variables: ["K_SERVICE": "s", "FUNCTIONS_WORKER_RUNTIME": "node"], dockerEnvExists: true)
                == Environment(containerRuntime: "docker"))
    }

    @Test func wrongTypesAndEmptyValuesAreLeftOutSilently() {
        let env = Environment(variables: [
            "AWS_EXECUTION_ENV": "AWS_Lambda_java8", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "big", "AWS_REGION": "",
        ], dockerEnvExists: false)
        #expect(env == Environment(name: "aws.lambda"))
        #expect(Environment(variables: ["K_SERVICE": "s", "FUNCTION_TIMEOUT_SEC": "99999999999"], dockerEnvExists: false)
                == Environment(name: "gcp.func"), "beyond int32")
        #expect(Environment(variables: ["VERCEL": ""], dockerEnvExists: false) == nil, "set but empty is not populated")
    }

    @Test func containers() {
        #expect(Environment(variables: [:], dockerEnvExists: false) == nil, "no field, no env")
        #expect(Environment(variables: [:], dockerEnvExists: true) == Environment(containerRuntime: "docker"))
        #expect(Environment(variables: ["KUBERNETES_SERVICE_HOST": "10.0.0.1"], dockerEnvExists: false)
                == Environment(containerOrchestrator: "kubernetes"))
        let both = Environment(variables: [
            "AWS_EXECUTION_ENV": "AWS_Lambda_java8", "AWS_REGION": "us-east-2", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "KUBERNETES_SERVICE_HOST": "1",
        ], dockerEnvExists: false)
        #expect(both == Environment(name: "aws.lambda", memoryMB: 1024, region: "us-east-2", containerOrchestrator: "kubernetes"),
                "FaaS and container metadata together")
        #expect(ClientMetadata(environment: Environment(containerOrchestrator: "kubernetes")).document["env"]
                == .document(["container": .document(["orchestrator": .string("kubernetes")])]))
    }

    // MARK: - The 512-byte limit

    @Test func aFullDocumentIsSentWhole() {
        let metadata = fullMetadata()
        #expect(metadata.document == metadata.untruncatedDocument)
        #expect(metadata.document.encoded().count <= ClientMetadata.maxDocumentBytes)
    }

    @Test func firstEnvKeepsOnlyItsName() {
        // The spec's "long string" case: AWS_REGION of 512 bytes.
        let metadata = fullMetadata(region: String(repeating: "a", count: 512))
        let document = metadata.document
        #expect(document.encoded().count <= 512)
        #expect(document["env"] == .document(["name": .string("aws.lambda")]))
        #expect(document["os"]?.documentValue?.keys == ["type", "name", "architecture", "version"], "os untouched")
        #expect(document["platform"] == .string(ClientMetadata.defaultPlatform))
    }

    @Test func thenOSKeepsOnlyItsType() {
        var metadata = fullMetadata()
        metadata.os.name = String(repeating: "n", count: 400)
        let document = metadata.document
        #expect(document.encoded().count <= 512)
        #expect(document["env"] == .document(["name": .string("aws.lambda")]), "env's fields went first")
        #expect(document["os"] == .document(["type": .string("Linux")]))
        #expect(document["platform"] == .string(ClientMetadata.defaultPlatform))
    }

    @Test func thenEnvGoesThenPlatformIsCut() throws {
        // An application name of 128 bytes (the most the connection string accepts) and a
        // platform that cannot fit beside it: env and os's details go, then the platform's end.
        let appName = String(repeating: "é", count: 64)  // 128 bytes of UTF-8
        let platform = "Swift 6 first, " + String(repeating: "p", count: 500)
        let document = fullMetadata(appName: appName, platform: platform).document
        let size = document.encoded().count
        #expect(size <= 512)
        #expect(size >= 510, "only what was over the limit was cut: \(size)")
        #expect(document["env"] == nil)
        #expect(document["os"] == .document(["type": .string("Linux")]))
        #expect(document["application"]?.documentValue?["name"] == .string(appName), "the application name is kept whole")
        let kept = try #require(document["platform"]?.stringValue)
        #expect(kept.hasPrefix("Swift 6 first, "), "the platform's start is kept")
        #expect(document["driver"]?.documentValue?["name"] == .string(DriverIdentity.name))
    }

    @Test func envGoesWholeWhenItsNameAloneIsTooMuch() {
        // Dropping env's other fields and os's is not enough, dropping env is.
        var metadata = fullMetadata(appName: String(repeating: "a", count: 128))
        metadata.environment?.name = String(repeating: "e", count: 300)
        let document = metadata.document
        #expect(document.encoded().count <= 512)
        #expect(document["env"] == nil)
        #expect(document["platform"] == .string(ClientMetadata.defaultPlatform), "the platform stays when it fits")
    }

    @Test func anApplicationNameOver128BytesIsCutAtACharacter() throws {
        // The connection string refuses it; MonitorOptions built in code may carry it, and the
        // server would refuse every handshake.
        let long = String(repeating: "é", count: 300)  // 600 bytes
        let document = fullMetadata(appName: long).document
        #expect(document.encoded().count <= 512)
        let name = try #require(document["application"]?.documentValue?["name"]?.stringValue)
        #expect(name == String(repeating: "é", count: 64))
        let command = try command(Handshake.handshakeMessage(requestID: 1, appName: long))
        #expect(try #require(command["client"]?.documentValue).encoded().count <= 512)
    }

    @Test func prefixEndsOnACharacterBoundary() {
        #expect(ClientMetadata.prefix(of: "aé", maxBytes: 2) == "a")
        #expect(ClientMetadata.prefix(of: "aé", maxBytes: 3) == "aé")
        #expect(ClientMetadata.prefix(of: "👍🏽x", maxBytes: 7) == "", "a grapheme is not split")
    }

    // MARK: - The host

    @Test func osReleasePrettyNameElseNameAndVersion() {
        let debian = """
            PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
            NAME="Debian GNU/Linux"
            VERSION_ID="12"
            """
        #expect(HostEnvironment.distributionName(osRelease: debian) == "Debian GNU/Linux 12 (bookworm)")
        #expect(HostEnvironment.distributionName(osRelease: "NAME=Alpine\nVERSION='3.19'\n") == "Alpine 3.19")
        #expect(HostEnvironment.distributionName(osRelease: "# comment\nPRETTY_NAME=\"A \\\"quoted\\\" name\"\n") == "A \"quoted\" name")
        #expect(HostEnvironment.distributionName(osRelease: "ID=x\n") == nil)
    }

    @Test func thisHostIsRead() {
        let os = HostEnvironment.operatingSystem()
        #expect(os.type == "Linux")
        #expect(os.architecture?.isEmpty == false)
        #expect(os.version?.isEmpty == false)
    }

    /// The environment is read by byte at the first "=": values that contain "=" stay whole,
    /// and every variable reads as getenv(3) reads it.
    @Test func processEnvironmentMatchesGetenv() throws {
        let variables = ProcessEnvironment.variables
        #expect(!variables.isEmpty)
        for (name, value) in variables.prefix(200) {
            let read = try #require(getenv(name), "\(name) is not in the environment")
            #expect(String(cString: read) == value, "\(name)")
        }
    }

    /// The monitor encodes its handshake once and patches the requestID per connection: the
    /// result is the message encoded with that id, byte for byte.
    @Test func aHandshakeWithItsRequestIDReplacedIsTheOneEncodedWithThatID() throws {
        let once = try Handshake.handshakeMessage(requestID: 5, appName: "app", loadBalanced: false).encoded()
        let fresh = try Handshake.handshakeMessage(requestID: 0x0102_0304, appName: "app", loadBalanced: false).encoded()
        #expect(WireMessage.replacingRequestID(in: once, with: 0x0102_0304) == fresh)
        #expect(WireMessage.replacingRequestID(in: [1, 2, 3], with: 1) == nil)
    }
    @Test func aSmallFileIsReadWholeAndALargeOneUpToTheLimit() throws {
        let path = "/tmp/sdam-read-small-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer { unlink(path) }
        // 5,000 bytes: several of the reader's 1,024-byte chunks, and a last one part full.
        let text = String((0..<5_000).map { Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0 % 26))) })
        let file = try #require(fopen(path, "w"))
        _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, file) }
        fclose(file)
        #expect(HostEnvironment.readSmallFile(path) == text)
        #expect(HostEnvironment.readSmallFile(path, limit: 3_000) == String(text.prefix(3_000)))
        #expect(HostEnvironment.readSmallFile(path + "-missing") == nil)
    }

    @Test func thePlainHandshakeIsEncodedOnceForEachLoadBalancedValue() throws {
        let handshake = PlainHandshake(appName: "app")
        let plain = try Handshake.handshakeMessage(requestID: 0, appName: "app", loadBalanced: false).encoded()
        let balanced = try Handshake.handshakeMessage(requestID: 0, appName: "app", loadBalanced: true).encoded()
        #expect(plain != balanced)
        #expect(handshake.bytes(loadBalanced: false) == plain)
        #expect(handshake.bytes(loadBalanced: false) == plain)
        // DNS can make an SRV topology load-balanced after the caller encoded it.
        #expect(handshake.bytes(loadBalanced: true) == balanced)
    }
}
