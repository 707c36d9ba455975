import MongoBSON

// MARK: - Building a ServerDescription from a check's outcome

extension ServerDescription {
    /// A description from a successful hello (or legacy hello) call, per the spec's "Parsing a
    /// hello or legacy hello response".
    ///
    /// A reply without a true `ok` makes an Unknown description carrying the server's
    /// `errmsg`; a reply with a malformed field makes an Unknown description carrying a
    /// `HelloReplyError` text. Numbers are read whichever numeric type the server sent.
    ///
    /// - Parameters:
    ///   - address: the address the client connected to (not the reply's `me`).
    ///   - hello: the reply document.
    ///   - roundTripTimeMS: the (averaged) round-trip time to record; ignored when the result
    ///     is Unknown, whose RTT is always nil.
    ///   - minRoundTripTimeMS: the minimum of recent RTT samples, likewise.
    ///   - now: the monitor's clock in milliseconds, recorded as `lastUpdateTimeMS`.
    public init(
        address: ServerAddress,
        hello: BSONDocument,
        roundTripTimeMS: Double?,
        minRoundTripTimeMS: Double? = nil,
        now: Int64
    ) {
        do {
            self = try ServerDescription.parse(address: address, hello: hello)
            if type != .unknown {
                self.roundTripTimeMS = roundTripTimeMS
                self.minRoundTripTimeMS = minRoundTripTimeMS
            }
        } catch {
            self.init(address: address, error: error.description, now: now)
        }
        lastUpdateTimeMS = now
    }

    /// An Unknown description after a failed check or an application error.
    /// - Parameters:
    ///   - error: text describing what failed; `error != nil` marks the description as failed.
    ///   - topologyVersion: from a State Change Error's reply, when it carried one.
    public init(address: ServerAddress, error: String, topologyVersion: TopologyVersion? = nil, now: Int64) {
        self.init(address: address)
        self.error = error
        self.topologyVersion = topologyVersion
        self.lastUpdateTimeMS = now
    }

    /// The strict reading behind `init(address:hello:...)`.
    /// - Throws: `HelloReplyError` for a field present with the wrong type or form.
    public static func parse(address: ServerAddress, hello: BSONDocument) throws(HelloReplyError) -> ServerDescription {
        var sd = ServerDescription(address: address)
        let reader = HelloReader(reply: hello)
        // A version or processId can come with any reply, even ok:0; keep it for staleness.
        if let tv = try reader.document("topologyVersion") { sd.topologyVersion = try TopologyVersion(document: tv) }
        guard hello["ok"]?.isTruthy == true else {
            let code = hello["code"]?.int64Value.map { " (code \($0))" } ?? ""
            sd.error = "hello failed: " + (hello["errmsg"]?.stringValue ?? "reply has no ok: 1") + code
            return sd
        }
        sd.minWireVersion = try reader.int("minWireVersion") ?? 0
        sd.maxWireVersion = try reader.int("maxWireVersion") ?? 0
        sd.setName = try reader.string("setName")
        sd.setVersion = try reader.int64("setVersion")
        sd.electionId = try reader.objectID("electionId")
        sd.me = try reader.address("me")
        sd.primary = try reader.address("primary")
        sd.hosts = try reader.addresses("hosts")
        sd.passives = try reader.addresses("passives")
        sd.arbiters = try reader.addresses("arbiters")
        sd.tags = try reader.tags("tags")
        sd.logicalSessionTimeoutMinutes = try reader.int64("logicalSessionTimeoutMinutes")
        sd.isCryptd = reader.flag("iscryptd")
        sd.serviceId = try reader.objectID("serviceId")
        if let lastWrite = try reader.document("lastWrite") {
            let inner = HelloReader(reply: lastWrite, prefix: "lastWrite.")
            sd.lastWriteDateMS = try inner.datetime("lastWriteDate")
            sd.opTime = try inner.document("opTime")
        }
        sd.type = serverType(of: reader, setName: sd.setName)
        return sd
    }

    /// The spec's ServerType table. Order matters: `isreplicaset: true` is an RSGhost whatever
    /// else it says; a setName makes a replica set member; `hidden` overrides the member state.
    static func serverType(of reply: HelloReader, setName: String?) -> ServerType {
        if reply.flag("isreplicaset") { return .rsGhost }
        if setName != nil {
            if reply.flag("hidden") { return .rsOther }
            let writable = reply.reply["isWritablePrimary"] != nil
                ? reply.flag("isWritablePrimary") : reply.flag("ismaster")
            if writable { return .rsPrimary }
            if reply.flag("secondary") { return .rsSecondary }
            if reply.flag("arbiterOnly") { return .rsArbiter }
            return .rsOther
        }
        if reply.reply["msg"]?.stringValue == "isdbgrid" { return .mongos }
        return .standalone
    }
}

/// Typed field access for hello replies: absent or null fields read as nil, present fields of
/// the wrong type throw `HelloReplyError` naming the field.
struct HelloReader {
    let reply: BSONDocument
    var prefix = ""

    private func value(_ key: String) -> BSON? {
        guard let v = reply[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    func flag(_ key: String) -> Bool { value(key)?.isTruthy ?? false }

    /// The field through `extract`, nil when absent; throws when present but not extractable.
    private func typed<T>(_ key: String, _ expected: String, _ extract: (BSON) -> T?) throws(HelloReplyError) -> T? {
        guard let v = value(key) else { return nil }
        guard let out = extract(v) else { throw HelloReplyError(field: prefix + key, expected: expected, found: v) }
        return out
    }

    func string(_ key: String) throws(HelloReplyError) -> String? { try typed(key, "a string", \.stringValue) }

    func int64(_ key: String) throws(HelloReplyError) -> Int64? { try typed(key, "an integer", \.int64Value) }

    func int(_ key: String) throws(HelloReplyError) -> Int? {
        guard let n = try int64(key) else { return nil }
        guard let i = Int32(exactly: n) else {
            throw HelloReplyError(field: prefix + key, expected: "an integer that fits 32 bits", found: String(n))
        }
        return Int(i)
    }

    func objectID(_ key: String) throws(HelloReplyError) -> BSONObjectID? { try typed(key, "an ObjectId", \.objectIDValue) }

    func document(_ key: String) throws(HelloReplyError) -> BSONDocument? { try typed(key, "a document", \.documentValue) }

    func datetime(_ key: String) throws(HelloReplyError) -> Int64? {
        try typed(key, "a date") { v in
            if case .datetime(let ms) = v { return ms }
            return v.int64Value
        }
    }

    func address(_ key: String) throws(HelloReplyError) -> ServerAddress? {
        guard let text = try string(key) else { return nil }
        guard let a = ServerAddress(text) else {
            throw HelloReplyError(field: prefix + key, expected: "a \"host[:port]\" address", found: .string(text))
        }
        return a
    }

    func addresses(_ key: String) throws(HelloReplyError) -> Set<ServerAddress> {
        guard let v = value(key) else { return [] }
        guard let items = v.arrayValue else { throw HelloReplyError(field: prefix + key, expected: "an array", found: v) }
        var out = Set<ServerAddress>()
        out.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            guard let text = item.stringValue, let a = ServerAddress(text) else {
                throw HelloReplyError(field: "\(prefix)\(key)[\(i)]", expected: "a \"host[:port]\" address", found: item)
            }
            out.insert(a)
        }
        return out
    }

    func tags(_ key: String) throws(HelloReplyError) -> [String: String] {
        guard let doc = try document(key) else { return [:] }
        var out: [String: String] = [:]
        for (k, v) in doc.elements {
            guard let s = v.stringValue else { throw HelloReplyError(field: "\(prefix)\(key).\(k)", expected: "a string", found: v) }
            out[k] = s
        }
        return out
    }
}
