import MongoBSON

/// One `key=value` pair of the options part, percent-decoded.
struct OptionPair: Sendable {
    /// The key as written (for messages).
    var key: String
    /// The key with ASCII A-Z lowercased: the spec's normalised form.
    var normalizedKey: String
    var value: String
}

extension ConnectionOptions {
    /// Parses the options part of a connection string (after `?`). Returns the options and the
    /// normalised keys that appear (for rules about presence).
    ///
    /// Throws only where the specs say the URI is invalid: a pair without `=`, a repeated proxy
    /// option, and the option-only conflicts of ``validateOptionConflicts(present:)``.
    /// Unknown options, invalid values and repeated keys are ignored and described in
    /// `warnings`.
    static func parse(
        query: Substring, warnings: inout [String]
    ) throws(ConnectionStringError) -> (options: ConnectionOptions, present: Set<String>) {
        let pairs = try splitPairs(query)
        var parser = OptionsParser()
        var counts: [String: Int] = [:]
        var firstWritten: [String: String] = [:]
        for pair in pairs {
            counts[pair.normalizedKey, default: 0] += 1
            if firstWritten[pair.normalizedKey] == nil { firstWritten[pair.normalizedKey] = pair.key }
        }
        for (key, count) in counts.sorted(by: { $0.key < $1.key }) where count > 1 {
            let written = firstWritten[key] ?? key
            if key.hasPrefix("proxy") {
                throw .invalidOption(key: written, reason: "given \(count) times; a proxy option may be given only once")
            }
            // Lists repeat by design; tls/ssl repeats are checked for agreement instead.
            if !["readpreferencetags", "tls", "ssl"].contains(key) {
                warnings.append("option \(written) is given \(count) times; the last valid value is used")
            }
        }
        for pair in pairs {
            switch parser.apply(pair) {
            case .applied:
                break
            case .unknown:
                warnings.append("unsupported option '\(pair.key)' (ignored)")
            case .invalid(let reason):
                warnings.append("option \(pair.key)=\(pair.value): \(reason) (ignored)")
            }
        }
        parser.warnings.forEach { warnings.append($0) }
        var options = parser.options
        options.readPreference = try parser.readPreference()
        let present = Set(counts.keys)
        try options.validateOptionConflicts(present: present, tlsValues: parser.tlsValues)
        return (options, present)
    }

    /// Splits on `&` and each pair at its first `=`, then percent-decodes key and value. Empty
    /// segments (`a=1&&b=2`, a trailing `&`) are skipped.
    static func splitPairs(_ query: Substring) throws(ConnectionStringError) -> [OptionPair] {
        var pairs: [OptionPair] = []
        for segment in query.split(separator: "&", omittingEmptySubsequences: true) {
            guard let equals = segment.firstIndex(of: "=") else {
                throw .invalidOption(key: String(segment), reason: "expected 'key=value', found no '='")
            }
            let key = try PercentDecoding.decode(segment[..<equals], part: "option name")
            guard !key.isEmpty else {
                throw .invalidOption(key: String(segment), reason: "the option name is empty")
            }
            let value = try PercentDecoding.decode(segment[segment.index(after: equals)...], part: "option \(key)")
            pairs.append(OptionPair(key: key, normalizedKey: asciiLowercased(key), value: value))
        }
        return pairs
    }

    /// Lowercases A-Z only, as the spec's key normalisation says; other characters stay.
    static func asciiLowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }
}

/// Applies option pairs one at a time to a ``ConnectionOptions`` value.
private struct OptionsParser {
    enum Outcome {
        case applied
        case unknown
        /// The value is invalid: why, for the warning.
        case invalid(String)
    }

    var options = ConnectionOptions()
    var warnings: [String] = []
    /// Every valid value of `tls` and `ssl`, in order, for the agreement rule.
    var tlsValues: [Bool] = []
    private var mode: ReadPreference.Mode?
    private var tagSets: [[String: String]] = []
    /// nil: not given; .some(nil): -1 (explicitly no maximum).
    private var maxStaleness: Int??

    mutating func apply(_ pair: OptionPair) -> Outcome {
        let value = pair.value
        switch pair.normalizedKey {
        // Discovery and monitoring
        case "replicaset": return string(value, \.replicaSet)
        case "directconnection": return bool(value, \.directConnection)
        case "loadbalanced": return bool(value, \.loadBalanced)
        case "heartbeatfrequencyms": return int(value, \.heartbeatFrequencyMS, 500..., "must be at least 500")
        case "servermonitoringmode":
            guard let mode = ServerMonitoringMode(rawValue: value) else {
                return .invalid("expected 'auto', 'stream' or 'poll'")
            }
            options.serverMonitoringMode = mode
            return .applied
        case "appname": return string(value, \.appName)
        // Selection
        case "readpreference":
            guard let mode = ReadPreference.Mode.allCases.first(where: {
                ConnectionOptions.asciiLowercased($0.rawValue) == ConnectionOptions.asciiLowercased(value)
            }) else {
                return .invalid("expected one of " + ReadPreference.Mode.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self.mode = mode
            return .applied
        case "readpreferencetags":
            switch Self.keyValuePairs(value) {
            case .success(let tags): tagSets.append(tags); return .applied
            case .failure(let why): return .invalid(why.reason)
            }
        case "maxstalenessseconds":
            switch Self.integer(value, in: Int64(Int32.min)...Int64(Int32.max)) {
            case .success(-1): maxStaleness = .some(nil); return .applied
            case .success(let seconds) where seconds > 0: maxStaleness = .some(Int(seconds)); return .applied
            case .success: return .invalid("must be -1 (no maximum) or a positive number of seconds")
            case .failure(let why): return .invalid(why.reason)
            }
        case "serverselectiontimeoutms": return int(value, \.serverSelectionTimeoutMS, 1..., "must be positive")
        case "serverselectiontryonce": return bool(value, \.serverSelectionTryOnce)
        case "socketcheckintervalms": return int(value, \.socketCheckIntervalMS, 0..., "must be non-negative")
        case "localthresholdms": return int(value, \.localThresholdMS, 0..., "must be non-negative")
        // Timeouts
        case "connecttimeoutms": return int(value, \.connectTimeoutMS, 0..., "must be non-negative")
        case "sockettimeoutms": return int(value, \.socketTimeoutMS, 0..., "must be non-negative")
        case "timeoutms": return int64(value, \.timeoutMS)
        // Pools
        case "maxpoolsize": return int(value, \.maxPoolSize, 0..., "must be non-negative")
        case "minpoolsize": return int(value, \.minPoolSize, 0..., "must be non-negative")
        case "maxidletimems": return int(value, \.maxIdleTimeMS, 0..., "must be non-negative")
        case "waitqueuetimeoutms": return int(value, \.waitQueueTimeoutMS, 1..., "must be positive")
        case "maxconnecting": return int(value, \.maxConnecting, 1..., "must be positive")
        // TLS
        case "tls", "ssl":
            let outcome = bool(value, \.tls)
            if case .applied = outcome, let tls = options.tls { tlsValues.append(tls) }
            return outcome
        case "tlsinsecure": return bool(value, \.tlsInsecure)
        case "tlsallowinvalidcertificates": return bool(value, \.tlsAllowInvalidCertificates)
        case "tlsallowinvalidhostnames": return bool(value, \.tlsAllowInvalidHostnames)
        case "tlscafile": return string(value, \.tlsCAFile)
        case "tlscertificatekeyfile": return string(value, \.tlsCertificateKeyFile)
        case "tlscertificatekeyfilepassword": return string(value, \.tlsCertificateKeyFilePassword)
        case "tlsdisableocspendpointcheck": return bool(value, \.tlsDisableOCSPEndpointCheck)
        case "tlsdisablecertificaterevocationcheck": return bool(value, \.tlsDisableCertificateRevocationCheck)
        // Authentication
        case "authmechanism": return string(value, \.authMechanism)
        case "authsource": return string(value, \.authSource)
        case "authmechanismproperties":
            switch Self.keyValuePairs(value) {
            case .success(let properties) where !properties.isEmpty:
                options.authMechanismProperties = properties
                return .applied
            case .success: return .invalid("expected comma-separated key:value pairs")
            case .failure(let why): return .invalid(why.reason)
            }
        // Compression
        case "compressors": return compressors(value)
        case "zlibcompressionlevel": return int(value, \.zlibCompressionLevel, -1...9, "must be between -1 and 9")
        // Retries and overload
        case "retryreads": return bool(value, \.retryReads)
        case "retrywrites": return bool(value, \.retryWrites)
        case "maxadaptiveretries": return int(value, \.maxAdaptiveRetries, 0..., "must be non-negative")
        case "enableoverloadretargeting": return bool(value, \.enableOverloadRetargeting)
        // Concerns
        case "w":
            if value.isEmpty { return .invalid("empty value") }
            switch Self.integer(value, in: Int64(Int32.min)...Int64(Int32.max)) {
            case .success(let n) where n >= 0: options.w = .count(Int(n))
            case .success: return .invalid("must be a non-negative number or a string")
            case .failure: options.w = .tag(value)
            }
            return .applied
        case "journal": return bool(value, \.journal)
        case "wtimeoutms": return int64(value, \.wTimeoutMS)
        case "readconcernlevel": return string(value, \.readConcernLevel)
        // mongodb+srv
        case "srvmaxhosts": return int(value, \.srvMaxHosts, 0..., "must be non-negative")
        case "srvservicename":
            guard Self.isValidServiceName(value) else {
                return .invalid("not an RFC 6335 service name (1-15 letters, digits and single hyphens, with a letter)")
            }
            options.srvServiceName = value
            return .applied
        // SOCKS5 proxy
        case "proxyhost": return string(value, \.proxyHost)
        case "proxyport": return int(value, \.proxyPort, 0...65535, "must be between 0 and 65535")
        case "proxyusername": return string(value, \.proxyUsername)
        case "proxypassword": return string(value, \.proxyPassword)
        default: return .unknown
        }
    }

    /// The read preference from the collected mode, tag sets and staleness; nil if none given.
    /// Throws for the server-selection spec's invalid combinations with mode primary.
    func readPreference() throws(ConnectionStringError) -> ReadPreference? {
        guard mode != nil || !tagSets.isEmpty || maxStaleness != nil else { return nil }
        let mode = mode ?? .primary
        let staleness = maxStaleness ?? nil
        if mode == .primary {
            if tagSets.contains(where: { !$0.isEmpty }) {
                throw .conflictingOptions("readPreferenceTags cannot be used with read preference mode primary")
            }
            if let staleness {
                throw .conflictingOptions("maxStalenessSeconds=\(staleness) cannot be used with read preference mode primary")
            }
        }
        return ReadPreference(mode: mode, tagSets: mode == .primary ? [] : tagSets, maxStalenessSeconds: staleness)
    }

    // MARK: - Value types

    private mutating func string(_ value: String, _ path: WritableKeyPath<ConnectionOptions, String?>) -> Outcome {
        options[keyPath: path] = value
        return .applied
    }

    private mutating func bool(_ value: String, _ path: WritableKeyPath<ConnectionOptions, Bool?>) -> Outcome {
        switch value {
        case "true": options[keyPath: path] = true
        case "false": options[keyPath: path] = false
        case "": return .invalid("empty value")
        default: return .invalid("expected 'true' or 'false'")
        }
        return .applied
    }

    /// A 32-bit integer option within `range`.
    private mutating func int(
        _ value: String, _ path: WritableKeyPath<ConnectionOptions, Int?>,
        _ range: some RangeExpression<Int64>, _ rule: String
    ) -> Outcome {
        switch Self.integer(value, in: Int64(Int32.min)...Int64(Int32.max)) {
        case .success(let n) where range.contains(n): options[keyPath: path] = Int(n); return .applied
        case .success: return .invalid(rule)
        case .failure(let why): return .invalid(why.reason)
        }
    }

    /// A non-negative 64-bit integer option.
    private mutating func int64(_ value: String, _ path: WritableKeyPath<ConnectionOptions, Int64?>) -> Outcome {
        switch Self.integer(value, in: Int64.min...Int64.max) {
        case .success(let n) where n >= 0: options[keyPath: path] = n; return .applied
        case .success: return .invalid("must be non-negative")
        case .failure(let why): return .invalid(why.reason)
        }
    }

    private mutating func compressors(_ value: String) -> Outcome {
        let known: Set<String> = ["snappy", "zlib", "zstd"]
        var names: [String] = []
        for name in value.split(separator: ",", omittingEmptySubsequences: true).map(String.init) {
            if known.contains(name) {
                if !names.contains(name) { names.append(name) }
            } else {
                warnings.append("option compressors: unsupported compressor '\(name)' (ignored)")
            }
        }
        options.compressors = names
        return .applied
    }

    // MARK: - Value syntax

    struct Invalid: Error {
        var reason: String
    }

    /// An optional `-` then ASCII digits, within `range`.
    static func integer(_ text: String, in range: ClosedRange<Int64>) -> Result<Int64, Invalid> {
        if text.isEmpty { return .failure(Invalid(reason: "empty value")) }
        let digits = text.hasPrefix("-") ? text.utf8.dropFirst() : text.utf8[...]
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .failure(Invalid(reason: "expected an integer"))
        }
        guard let n = Int64(text), range.contains(n) else {
            return .failure(Invalid(reason: "integer out of range \(range.lowerBound)...\(range.upperBound)"))
        }
        return .success(n)
    }

    /// `k1:v1,k2:v2`: each pair splits at its first `:`, so values may contain `:`. The empty
    /// string is the empty set (a `readPreferenceTags=` that matches any server).
    static func keyValuePairs(_ text: String) -> Result<[String: String], Invalid> {
        var result: [String: String] = [:]
        guard !text.isEmpty else { return .success(result) }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let colon = item.firstIndex(of: ":"), colon != item.startIndex else {
                return .failure(Invalid(reason: "expected key:value pairs separated by ',', found '\(item)'"))
            }
            result[String(item[..<colon])] = String(item[item.index(after: colon)...])
        }
        return .success(result)
    }

    /// RFC 6335 section 5.1: 1-15 characters, letters, digits and hyphens, at least one
    /// letter, no hyphen at either end or next to another.
    static func isValidServiceName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...15).contains(bytes.count), bytes.first != UInt8(ascii: "-"), bytes.last != UInt8(ascii: "-") else {
            return false
        }
        let isLetter = { (b: UInt8) in (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }
        let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        guard bytes.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "-") }),
              bytes.contains(where: isLetter),
              !name.contains("--")
        else { return false }
        return true
    }
}
