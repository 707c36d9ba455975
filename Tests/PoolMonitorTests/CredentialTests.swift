import Testing
import MongoBSON
@testable import SDAMCore

/// Credentials and TLS settings from a connection string, as the auth and uri-options specs
/// say: each mechanism's defaults and rules, errors that name the rule and never the
/// password, descriptions that hide the secrets, and what the pool refuses.
@Suite struct CredentialTests {
    static let secret = "s3cr3t-Pw"

    static func credential(_ uri: String) throws -> MongoCredential? {
        try ConnectionString(uri).credential
    }

    /// The error deriving the credential of `uri` throws, or nil.
    static func credentialError(_ uri: String) -> ConnectionStringError? {
        do {
            _ = try ConnectionString(uri).credential
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Defaults

    @Test func defaultMechanismIsNegotiatedAgainstAdminOrTheDatabase() throws {
        let plain = try #require(try Self.credential("mongodb://alice:pw@h"))
        #expect(plain.mechanism == nil && plain.source == "admin" && plain.username == "alice" && plain.password == "pw")
        #expect(plain.mechanismProperties.isEmpty)
        #expect(try Self.credential("mongodb://alice:pw@h/app")?.source == "app")
        #expect(try Self.credential("mongodb://alice:pw@h/app?authSource=users")?.source == "users")
        #expect(try Self.credential("mongodb://alice:@h")?.password == "", "an empty password is a password")
    }

    @Test(arguments: [AuthMechanism.scramSHA1, .scramSHA256])
    func scramTakesTheDatabaseOrAdmin(_ mechanism: AuthMechanism) throws {
        #expect(try Self.credential("mongodb://u:p@h/?authMechanism=\(mechanism)")?.source == "admin")
        #expect(try Self.credential("mongodb://u:p@h/db?authMechanism=\(mechanism)")?.source == "db")
        #expect(try Self.credential("mongodb://u:p@h/db?authMechanism=\(mechanism)")?.mechanism == mechanism)
    }

    @Test func plainDefaultsToExternalButTakesTheDatabase() throws {
        #expect(try Self.credential("mongodb://u:p@h/?authMechanism=PLAIN")?.source == "$external")
        #expect(try Self.credential("mongodb://u:p@h/ldap?authMechanism=PLAIN")?.source == "ldap")
    }

    @Test func externalMechanismsIgnoreTheDatabase() throws {
        let uris = [
            "mongodb://h/db?authMechanism=MONGODB-X509",
            "mongodb://CN%3Dclient@h/db?authMechanism=MONGODB-X509&authSource=$external",
            "mongodb://u%40REALM@h/db?authMechanism=GSSAPI",
            "mongodb://h/db?authMechanism=MONGODB-AWS",
            "mongodb://h/db?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s",
        ]
        for uri in uris {
            #expect(try Self.credential(uri)?.source == "$external", "\(uri)")
        }
        #expect(try Self.credential("mongodb://h/?authMechanism=MONGODB-X509")?.username == nil)
        #expect(try Self.credential("mongodb://u%40REALM@h/?authMechanism=GSSAPI")?.username == "u@REALM")
    }

    @Test func gssapiFillsInTheServiceNameAndNormalisesPropertyNames() throws {
        let base = "mongodb://u%40R@h/?authMechanism=GSSAPI"
        #expect(try Self.credential(base)?.mechanismProperties == ["SERVICE_NAME": "mongodb"])
        let given = try Self.credential(base + "&authMechanismProperties=service_name:other,Canonicalize_Host_Name:forward")
        #expect(given?.mechanismProperties == ["SERVICE_NAME": "other", "CANONICALIZE_HOST_NAME": "forward"])
    }

    @Test func noCredentialWithoutUserinfoOrMechanism() throws {
        #expect(try Self.credential("mongodb://h") == nil)
        #expect(try Self.credential("mongodb://h/db") == nil)
        let authSourceOnly = try ConnectionString("mongodb://h/?authSource=users")
        #expect(try authSourceOnly.credential == nil)
        #expect(OptionSupport.warnings(for: authSourceOnly).contains { $0.hasPrefix("authSource has no effect without credentials") })
        let withCredential = try ConnectionString("mongodb://u:p@h/?authSource=users")
        #expect(!OptionSupport.warnings(for: withCredential).contains { $0.contains("authSource") })
    }

    @Test func credentialInCode() throws {
        let scram = try MongoCredential(username: "alice", password: Self.secret, mechanism: .scramSHA256)
        #expect(scram.source == "admin")
        #expect(try MongoCredential(mechanism: .x509).source == "$external")
        #expect(try MongoCredential(username: "u", mechanism: .gssapi, mechanismProperties: ["service_realm": "R"])
            .mechanismProperties == ["SERVICE_REALM": "R", "SERVICE_NAME": "mongodb"])
        #expect(throws: ConnectionStringError.invalidCredential(mechanism: .x509, problem: .passwordNotAllowed)) {
            try MongoCredential(username: "u", password: "p", mechanism: .x509)
        }
        #expect(throws: ConnectionStringError.invalidCredential(mechanism: nil, problem: .emptySource)) {
            try MongoCredential(username: "u", password: "p", source: "")
        }
        #expect(throws: ConnectionStringError.invalidCredential(mechanism: nil, problem: .missingUsername)) {
            try MongoCredential(username: "", password: "p")
        }
    }

    // MARK: - Errors

    @Test(arguments: [
        ("mongodb://h/?authMechanism=SCRAM-SHA-256", ConnectionStringError.invalidCredential(mechanism: .scramSHA256, problem: .missingUsername)),
        ("mongodb://u@h", .invalidCredential(mechanism: nil, problem: .missingPassword)),
        ("mongodb://u@h/?authMechanism=PLAIN", .invalidCredential(mechanism: .plain, problem: .missingPassword)),
        ("mongodb://u:p@h/?authMechanism=MONGODB-X509", .invalidCredential(mechanism: .x509, problem: .passwordNotAllowed)),
        ("mongodb://h/?authMechanism=MONGODB-X509&authSource=admin", .invalidCredential(mechanism: .x509, problem: .sourceMustBeExternal(found: "admin"))),
        ("mongodb://h/?authMechanism=GSSAPI", .invalidCredential(mechanism: .gssapi, problem: .missingUsername)),
        ("mongodb://u@h/?authMechanism=GSSAPI&authMechanismProperties=CANONICALIZE_HOST_NAME:always",
         .invalidCredential(mechanism: .gssapi, problem: .invalidPropertyValue(
             name: "CANONICALIZE_HOST_NAME", value: "always", allowed: ["none", "forward", "forwardAndReverse", "true", "false"]))),
        ("mongodb://u@h/?authMechanism=GSSAPI&authMechanismProperties=SERVICE_NAME:a,service_name:b",
         .invalidCredential(mechanism: .gssapi, problem: .duplicateProperty(name: "SERVICE_NAME"))),
        ("mongodb://u@h/?authMechanism=MONGODB-AWS", .invalidCredential(mechanism: .aws, problem: .usernameNotAllowed)),
        ("mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:t",
         .invalidCredential(mechanism: .aws, problem: .propertyNotAllowed(name: "AWS_SESSION_TOKEN", allowed: []))),
        ("mongodb://h/?authMechanism=MONGODB-OIDC", .invalidCredential(mechanism: .oidc, problem: .missingProperty(name: "ENVIRONMENT", context: nil))),
        ("mongodb://h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:gcp",
         .invalidCredential(mechanism: .oidc, problem: .missingProperty(name: "TOKEN_RESOURCE", context: "ENVIRONMENT:gcp"))),
        ("mongodb://h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s,TOKEN_RESOURCE:r",
         .invalidCredential(mechanism: .oidc, problem: .propertyNotUsed(name: "TOKEN_RESOURCE", context: "ENVIRONMENT:k8s"))),
        ("mongodb://h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s,ALLOWED_HOSTS:x",
         .invalidCredential(mechanism: .oidc, problem: .propertyNotAllowed(name: "ALLOWED_HOSTS", allowed: ["ENVIRONMENT", "TOKEN_RESOURCE"]))),
        ("mongodb://u@h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:test", .invalidCredential(mechanism: .oidc, problem: .usernameNotAllowed)),
        ("mongodb://h/?authMechanismProperties=SERVICE_NAME:x", .invalidCredential(mechanism: nil, problem: .propertyNotAllowed(name: "SERVICE_NAME", allowed: []))),
        ("mongodb://u:p@h/?authMechanism=MONGODB-CR", .invalidAuthMechanism(found: "MONGODB-CR")),
        ("mongodb://u:p@h/?authMechanism=scram-sha-1", .invalidAuthMechanism(found: "scram-sha-1")),
    ])
    func eachRuleHasItsError(_ uri: String, _ expected: ConnectionStringError) {
        #expect(Self.credentialError(uri) == expected, "\(uri)")
    }

    @Test func errorsReadAsSentencesWithAHint() {
        #expect(Self.credentialError("mongodb://u@h")?.description
            == "invalid credential for the default mechanism (SCRAM-SHA-256 or SCRAM-SHA-1, negotiated): a password is required")
        #expect(Self.credentialError("mongodb://u@h/?authMechanism=MONGODB-AWS")?.description
            == "invalid credential for authMechanism=MONGODB-AWS: no username may be given; MONGODB-AWS takes its credentials from the environment or the AWS SDK, never from the connection string")
        #expect(Self.credentialError("mongodb://h/?authMechanism=MONGODB-OIDC&authMechanismProperties=Foo:bar")?.description
            == "invalid credential for authMechanism=MONGODB-OIDC: unsupported mechanism property 'Foo' (it takes ENVIRONMENT, TOKEN_RESOURCE)")
        #expect(Self.credentialError("mongodb://u:p@h/?authMechanism=MONGODB-CR")?.description
            == "authMechanism 'MONGODB-CR' is not an authentication mechanism: expected one of SCRAM-SHA-256, SCRAM-SHA-1, MONGODB-X509, GSSAPI, PLAIN, MONGODB-AWS, MONGODB-OIDC")
    }

    @Test func anEmptyAuthSourceIsAParseError() {
        for uri in ["mongodb://h/admin?authSource=", "mongodb://u:p@h/db?authSource="] {
            #expect(throws: ConnectionStringError.invalidOption(key: "authSource", reason: "must not be empty (leave it out for the mechanism's default)")) {
                try ConnectionString(uri)
            }
        }
    }

    @Test func noErrorTextContainsThePassword() {
        let uris = [
            "mongodb://u:\(Self.secret)@h/?authMechanism=MONGODB-X509",
            "mongodb://u:\(Self.secret)@h/?authMechanism=MONGODB-AWS",
            "mongodb://u:\(Self.secret)@h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:azure,TOKEN_RESOURCE:r",
            "mongodb://u:\(Self.secret)@h/?authMechanism=SCRAM-SHA-1&authMechanismProperties=X:y",
            "mongodb://u:\(Self.secret)@h/?authMechanism=BOGUS",
            "mongodb://u:\(Self.secret)@h/?authMechanism=PLAIN&authSource=",
        ]
        for uri in uris {
            let error: (any Error)?
            do {
                _ = try ClientSettings(connectionString: try ConnectionString(uri))
                error = nil
            } catch let thrown {
                error = thrown
            }
            let texts = [error.map { "\($0)" }, error.map { String(reflecting: $0) }, (try? ConnectionString(uri)).flatMap { OptionSupport.refusal(for: $0) }].compactMap { $0 }
            #expect(error != nil, "\(uri)")
            for text in texts {
                #expect(!text.contains(Self.secret), "\(uri): \(text)")
            }
        }
    }

    // MARK: - Redaction

    @Test func theCredentialNeverShowsThePassword() throws {
        let credential = try #require(try Self.credential("mongodb://alice:\(Self.secret)@h/app?authMechanism=SCRAM-SHA-256"))
        #expect(credential.description == "MongoCredential(mechanism: SCRAM-SHA-256, username: \"alice\", password: ***, source: \"app\")")
        var dumped = ""
        dump(credential, to: &dumped)
        let settings = try ClientSettings(connectionString: try ConnectionString("mongodb://alice:\(Self.secret)@h"))
        var dumpedSettings = ""
        dump(settings, to: &dumpedSettings)
        let texts = [
            credential.description, credential.debugDescription, "\(credential)", String(reflecting: credential), dumped,
            "\(settings)", String(reflecting: settings), dumpedSettings, "\(Optional(credential) as Any)",
        ]
        for text in texts {
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(text.contains("***"), "\(text)")
        }
        #expect(settings.credential?.password == Self.secret, "the value itself is kept")
    }

    @Test func tlsSettingsNeverShowTheKeyFilePassword() throws {
        let uri = "mongodb://h/?tls=true&tlsCertificateKeyFile=client.pem&tlsCertificateKeyFilePassword=\(Self.secret)"
        let tls = try #require(TLSSettings(connectionString: try ConnectionString(uri)))
        #expect(tls.certificateKeyFilePassword == Self.secret)
        #expect(tls.description == "TLSSettings(certificateKeyFile: \"client.pem\", certificateKeyFilePassword: ***)")
        var dumped = ""
        dump(tls, to: &dumped)
        let settings = try ClientSettings(connectionString: try ConnectionString(uri))
        for text in [tls.description, tls.debugDescription, String(reflecting: tls), dumped, "\(settings)"] {
            #expect(!text.contains(Self.secret), "\(text)")
        }
    }

    // MARK: - TLS

    @Test func tlsIsOnWithTLSOrSSLTrueOrTheSRVScheme() throws {
        func tls(_ uri: String) throws -> TLSSettings? { TLSSettings(connectionString: try ConnectionString(uri)) }
        #expect(try tls("mongodb://h") == nil)
        #expect(try tls("mongodb://h/?tls=false") == nil)
        #expect(try tls("mongodb://h/?tlsCAFile=ca.pem") == nil, "other tls options never turn TLS on")
        #expect(try tls("mongodb://h/?tls=true") == TLSSettings())
        #expect(try tls("mongodb://h/?ssl=true") == TLSSettings())
        #expect(try tls("mongodb+srv://cluster.example.com") == TLSSettings(), "mongodb+srv implies tls=true")
        #expect(try tls("mongodb+srv://cluster.example.com/?tls=false") == nil)
        #expect(try tls("mongodb+srv://cluster.example.com/?ssl=false") == nil)
        let files = try tls("mongodb://h/?tls=true&tlsCAFile=ca.pem&tlsCertificateKeyFile=client.pem")
        #expect(files == TLSSettings(caFile: "ca.pem", certificateKeyFile: "client.pem"))
        #expect(try ClientSettings(connectionString: try ConnectionString("mongodb://h/?tls=true")).tls == TLSSettings())
        #expect(try ClientSettings(connectionString: try ConnectionString("mongodb://h")).tls == nil)
    }

    @Test func relaxationsFollowTheOptionsAndTLSInsecure() throws {
        func tls(_ query: String) throws -> TLSSettings? {
            TLSSettings(connectionString: try ConnectionString("mongodb://h/?tls=true&" + query))
        }
        #expect(try tls("tlsInsecure=true") == TLSSettings(
            allowInvalidCertificates: true, allowInvalidHostnames: true, disableOCSPEndpointCheck: true))
        #expect(try tls("tlsInsecure=false") == TLSSettings())
        #expect(try tls("tlsAllowInvalidCertificates=true") == TLSSettings(allowInvalidCertificates: true, disableOCSPEndpointCheck: true),
                "OCSP support spec: allowing invalid certificates disables OCSP")
        #expect(try tls("tlsAllowInvalidHostnames=true") == TLSSettings(allowInvalidHostnames: true))
        #expect(try tls("tlsAllowInvalidHostnames=true&tlsAllowInvalidCertificates=true") == TLSSettings(
            allowInvalidCertificates: true, allowInvalidHostnames: true, disableOCSPEndpointCheck: true))
        #expect(try tls("tlsDisableOCSPEndpointCheck=true") == TLSSettings(disableOCSPEndpointCheck: true))
        #expect(try tls("tlsDisableCertificateRevocationCheck=true") == TLSSettings(disableCertificateRevocationCheck: true))
        #expect(try tls("tlsInsecure=true")?.description
            == "TLSSettings(allowInvalidCertificates, allowInvalidHostnames, disableOCSPEndpointCheck)")
    }

    @Test func onlyTheOCSPEndpointCheckOptionIsWarnedAsWithoutEffect() throws {
        let endpoint = OptionSupport.warnings(for: try ConnectionString("mongodb://h/?tls=true&tlsDisableOCSPEndpointCheck=true"))
        #expect(endpoint.contains { $0.hasPrefix("tlsDisableOCSPEndpointCheck has no effect") && $0.contains("stapled") }, "\(endpoint)")
        let revocation = OptionSupport.warnings(for: try ConnectionString("mongodb://h/?tls=true&tlsDisableCertificateRevocationCheck=true"))
        #expect(revocation.isEmpty, "it turns off the stapled OCSP check: \(revocation)")
    }

    @Test(arguments: [
        ("tlsInsecure", "tlsAllowInvalidCertificates"), ("tlsInsecure", "tlsAllowInvalidHostnames"),
        ("tlsInsecure", "tlsDisableOCSPEndpointCheck"), ("tlsInsecure", "tlsDisableCertificateRevocationCheck"),
        ("tlsAllowInvalidCertificates", "tlsDisableOCSPEndpointCheck"),
        ("tlsAllowInvalidCertificates", "tlsDisableCertificateRevocationCheck"),
        ("tlsDisableOCSPEndpointCheck", "tlsDisableCertificateRevocationCheck"),
    ])
    func conflictingTLSOptionsAreRejectedWhateverTheirValues(_ a: String, _ b: String) {
        for (x, y) in [("true", "true"), ("false", "false"), ("true", "false")] {
            for uri in ["mongodb://h/?tls=true&\(a)=\(x)&\(b)=\(y)", "mongodb://h/?\(b)=\(y)&\(a)=\(x)"] {
                #expect(throws: ConnectionStringError.conflictingOptions("\(a) and \(b) cannot both be given")) {
                    try ConnectionString(uri)
                }
            }
        }
    }

    // MARK: - What the pool refuses

    @Test(arguments: ["GSSAPI", "PLAIN", "MONGODB-AWS", "MONGODB-OIDC"])
    func mechanismsThatWillNotBeImplementedAreRefusedByName(_ name: String) throws {
        let uris = [
            "GSSAPI": "mongodb://u%40R@h/?authMechanism=GSSAPI",
            "PLAIN": "mongodb://u:\(Self.secret)@h/?authMechanism=PLAIN",
            "MONGODB-AWS": "mongodb://h/?authMechanism=MONGODB-AWS",
            "MONGODB-OIDC": "mongodb://h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:k8s",
        ]
        let uri = try #require(uris[name])
        let expected = "options this driver cannot honour: authMechanism=\(name) is not supported by this driver; supported: SCRAM-SHA-256, SCRAM-SHA-1, MONGODB-X509"
        #expect(OptionSupport.refusal(for: try ConnectionString(uri)) == expected)
        let everything = OptionSupport.Implemented(tls: true, mechanisms: AuthMechanism.allCases)
        #expect(OptionSupport.refusal(for: try ConnectionString(uri), implemented: everything) == expected, "refused for good")
    }

    @Test func scramAndX509AreInEffectAndWouldBeRefusedWithoutTheirImplementation() throws {
        let scram = try ConnectionString("mongodb://u:\(Self.secret)@h/?authMechanism=SCRAM-SHA-256")
        #expect(OptionSupport.refusal(for: scram) == nil)
        let x509 = try ConnectionString("mongodb://h/?authMechanism=MONGODB-X509&tls=true&tlsCertificateKeyFile=c.pem")
        #expect(OptionSupport.refusal(for: x509) == nil)
        let none = OptionSupport.Implemented(tls: true, mechanisms: [])
        let refusal = try #require(OptionSupport.refusal(for: scram, implemented: none))
        #expect(refusal.contains("authentication is not implemented yet") && !refusal.contains(Self.secret))
        #expect(OptionSupport.refusal(for: x509, implemented: none)?.contains("not implemented yet") == true)

        // Lifted: SCRAM in effect, negotiation needs both SCRAM mechanisms.
        let withSCRAM = OptionSupport.Implemented(tls: true, mechanisms: [.scramSHA256, .scramSHA1])
        #expect(OptionSupport.refusal(for: scram, implemented: withSCRAM) == nil)
        #expect(OptionSupport.refusal(for: try ConnectionString("mongodb://u:p@h"), implemented: withSCRAM) == nil)
        let only256 = OptionSupport.Implemented(tls: true, mechanisms: [.scramSHA256])
        #expect(OptionSupport.refusal(for: try ConnectionString("mongodb://u:p@h"), implemented: only256) != nil)
        let withX509 = OptionSupport.Implemented(tls: true, mechanisms: [.x509])
        #expect(OptionSupport.refusal(for: x509, implemented: withX509) == nil)
        #expect(OptionSupport.refusal(for: try ConnectionString("mongodb://h/?authMechanism=MONGODB-X509"), implemented: withX509)
            == "options this driver cannot honour: authMechanism=MONGODB-X509 without a client certificate (it needs tls=true and tlsCertificateKeyFile)")
    }

    @Test func tlsIsInEffectAndItsOptionsNeverIgnored() throws {
        let tls = try ConnectionString("mongodb://h/?tls=true&tlsCAFile=ca.pem")
        #expect(OptionSupport.refusal(for: tls) == nil)
        let notYet = OptionSupport.Implemented(tls: false, mechanisms: [])
        #expect(OptionSupport.refusal(for: tls, implemented: notYet)?.contains("TLS is not implemented yet") == true)
        let lifted = OptionSupport.Implemented(tls: true, mechanisms: [])
        #expect(OptionSupport.refusal(for: try ConnectionString("mongodb://h/?tls=false&tlsCAFile=ca.pem"), implemented: lifted)
            == "options this driver cannot honour: tlsCAFile without TLS (TLS is on only with tls=true or mongodb+srv; add tls=true)")
    }

    @Test func anInvalidCredentialFailsTheSettings() throws {
        #expect(throws: ClientSettingsError.invalidCredential(.invalidCredential(mechanism: .aws, problem: .usernameNotAllowed))) {
            try ClientSettings(connectionString: try ConnectionString("mongodb://u@h/?authMechanism=MONGODB-AWS"))
        }
        let settings = try ClientSettings(connectionString: try ConnectionString("mongodb://u:p@h/db"))
        #expect(settings.credential == (try MongoCredential(username: "u", password: "p", source: "db")))
    }
}
