import MongoBSON
import SDAMCore

extension ClientMetadata.Environment {
    /// `client.env` as the handshake spec derives it from the process's environment variables
    /// and whether `/.dockerenv` exists; nil when no field would be set.
    ///
    /// FaaS: the platform whose variables are populated (set and not empty) names `env.name`,
    /// and its own variables fill `region`, `memory_mb` and `timeout_sec`; a number that does
    /// not parse as an int32 leaves its field out, silently (the spec: no user-visible error).
    /// Vercel wins over AWS Lambda (Vercel runs on it); any other mix of platforms sets no FaaS
    /// field at all, since the process cannot be on two. Container fields are independent and
    /// kept beside the FaaS ones.
    public init?(variables: [String: String], dockerEnvExists: Bool) {
        var environment = ClientMetadata.Environment()
        func populated(_ name: String) -> String? {
            guard let value = variables[name], !value.isEmpty else { return nil }
            return value
        }
        func int32(_ name: String) -> Int32? { populated(name).flatMap { Int32($0) } }

        switch Self.faasPlatform(variables: variables) {
        case "aws.lambda"?:
            environment.name = "aws.lambda"
            environment.region = populated("AWS_REGION")
            environment.memoryMB = int32("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        case "azure.func"?:
            environment.name = "azure.func"
        case "gcp.func"?:
            environment.name = "gcp.func"
            environment.memoryMB = int32("FUNCTION_MEMORY_MB")
            environment.timeoutSec = int32("FUNCTION_TIMEOUT_SEC")
            environment.region = populated("FUNCTION_REGION")
        case "vercel"?:
            environment.name = "vercel"
            environment.region = populated("VERCEL_REGION")
        default:
            break
        }
        if dockerEnvExists { environment.containerRuntime = "docker" }
        if populated("KUBERNETES_SERVICE_HOST") != nil { environment.containerOrchestrator = "kubernetes" }
        guard !environment.isEmpty else { return nil }
        self = environment
    }

    /// The one FaaS platform the variables name, by the spec's table; nil for none or an
    /// ambiguous mix (Vercel with AWS Lambda alone is Vercel).
    public static func faasPlatform(variables: [String: String]) -> String? {
        func populated(_ name: String) -> Bool { variables[name].map { !$0.isEmpty } ?? false }
        var platforms: Set<String> = []
        if variables["AWS_EXECUTION_ENV"]?.hasPrefix("AWS_Lambda_") == true || populated("AWS_LAMBDA_RUNTIME_API") {
            platforms.insert("aws.lambda")
        }
        if populated("FUNCTIONS_WORKER_RUNTIME") { platforms.insert("azure.func") }
        if populated("K_SERVICE") || populated("FUNCTION_NAME") { platforms.insert("gcp.func") }
        if populated("VERCEL") { platforms.insert("vercel") }
        if platforms == ["vercel", "aws.lambda"] { return "vercel" }
        return platforms.count == 1 ? platforms.first : nil
    }
}
