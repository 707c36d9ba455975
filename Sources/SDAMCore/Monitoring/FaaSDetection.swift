import MongoBSON

/// Detects a Function-as-a-Service platform the way the handshake spec's `client.env` rules do:
/// there, `serverMonitoringMode=auto` polls instead of streaming, because a frozen function
/// cannot keep a streaming connection alive.
public enum FaaSDetection {
    public static func isFaaS(environment env: [String: String]) -> Bool {
        let awsLambda = env["AWS_EXECUTION_ENV"]?.hasPrefix("AWS_Lambda_") == true || env["AWS_LAMBDA_RUNTIME_API"] != nil
        let azure = env["FUNCTIONS_WORKER_RUNTIME"] != nil
        let gcp = env["K_SERVICE"] != nil || env["FUNCTION_NAME"] != nil
        let vercel = env["VERCEL"] != nil
        return awsLambda || azure || gcp || vercel
    }
}
