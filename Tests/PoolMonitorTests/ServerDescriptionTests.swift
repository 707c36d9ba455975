import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

/// ServerDescription built from hello replies: the spec's ServerType table, normalisation,
/// numeric leniency, malformed replies, and Server Description Equality.
@Suite struct ServerDescriptionTests {
    typealias F = SDAMFixtures

    struct TypeCase: Sendable, CustomTestStringConvertible {
        var reply: BSONDocument
        var expected: ServerType
        init(_ reply: BSONDocument, _ expected: ServerType) { self.reply = reply; self.expected = expected }
        var testDescription: String { "\(expected.rawValue) from \(reply.keys)" }
    }

    static let typeCases: [TypeCase] = [
        TypeCase(F.hello([("isWritablePrimary", .bool(true))]), .standalone),
        TypeCase(F.hello([("isWritablePrimary", .bool(true)), ("msg", .string("isdbgrid"))]), .mongos),
        TypeCase(F.hello([("isreplicaset", .bool(true)), ("setName", .string("rs"))]), .rsGhost),
        TypeCase(F.hello([("isWritablePrimary", .bool(true)), ("setName", .string("rs"))]), .rsPrimary),
        TypeCase(F.hello([("ismaster", .bool(true)), ("setName", .string("rs"))]), .rsPrimary),
        TypeCase(F.hello([("isWritablePrimary", .bool(false)), ("ismaster", .bool(true)), ("setName", .string("rs"))]), .rsOther),
        TypeCase(F.hello([("secondary", .bool(true)), ("setName", .string("rs"))]), .rsSecondary),
        TypeCase(F.hello([("arbiterOnly", .bool(true)), ("setName", .string("rs"))]), .rsArbiter),
        TypeCase(F.hello([("secondary", .bool(true)), ("hidden", .bool(true)), ("setName", .string("rs"))]), .rsOther),
        TypeCase(F.hello([("setName", .string("rs"))]), .rsOther),
        TypeCase(["ok": .int32(0), "errmsg": .string("boom")], .unknown),
        TypeCase(["isWritablePrimary": .bool(true)], .unknown),
    ]

    @Test(arguments: typeCases)
    func serverTypeFollowsTheSpecTable(_ c: TypeCase) {
        #expect(F.description("a", c.reply).type == c.expected)
    }

    @Test func addressesAreNormalisedToLowercase() {
        let sd = F.description("a", F.hello([
            ("setName", .string("rs")), ("secondary", .bool(true)),
            ("hosts", F.hosts(["A:27017", "B"])), ("passives", F.hosts(["C:1"])), ("arbiters", F.hosts(["[::1]:2"])),
            ("me", .string("A")), ("primary", .string("B:27017")),
        ]))
        #expect(sd.hosts == [F.address("a:27017"), F.address("b:27017")])
        #expect(sd.passives == [F.address("c:1")])
        #expect(sd.arbiters == [ServerAddress(host: "::1", port: 2)])
        #expect(sd.me == F.address("a:27017"))
        #expect(sd.primary == F.address("b"))
    }

    @Test func numbersAreReadFromAnyNumericType() {
        let sd = F.description("a", [
            "ok": .double(1), "isWritablePrimary": .bool(true), "setName": .string("rs"),
            "minWireVersion": .int64(2), "maxWireVersion": .double(21), "setVersion": .int32(7),
            "logicalSessionTimeoutMinutes": .double(30),
            "topologyVersion": .document(["processId": .objectID(F.oid(1)), "counter": .int32(4)]),
            "lastWrite": .document(["lastWriteDate": .datetime(1234)]),
        ])
        #expect(sd.type == .rsPrimary)
        #expect(sd.minWireVersion == 2 && sd.maxWireVersion == 21)
        #expect(sd.setVersion == 7 && sd.logicalSessionTimeoutMinutes == 30)
        #expect(sd.topologyVersion == TopologyVersion(processId: F.oid(1), counter: 4))
        #expect(sd.lastWriteDateMS == 1234)
        #expect(sd.roundTripTimeMS == 5 && sd.lastUpdateTimeMS == 1)
    }

    @Test func malformedFieldMakesUnknownWithTypedErrorText() {
        let sd = F.description("a", F.hello([("setName", .string("rs")), ("hosts", .array([.string("a"), .int32(3)]))]))
        #expect(sd.type == .unknown)
        #expect(sd.error == HelloReplyError(field: "hosts[1]", expected: "a \"host[:port]\" address", found: "int32").description)
        #expect(sd.roundTripTimeMS == nil)
        #expect(throws: HelloReplyError.self) {
            try ServerDescription.parse(address: F.address("a"), hello: F.hello([("maxWireVersion", .string("x"))]))
        }
    }

    @Test func okZeroKeepsTheServersMessage() {
        let sd = F.description("a", ["ok": .int32(0), "errmsg": .string("not authorized")])
        #expect(sd.type == .unknown)
        #expect(sd.error?.contains("not authorized") == true)
    }

    @Test func equalityIgnoresRoundTripTimeButNotError() {
        var a = F.description("a", F.hello([("isWritablePrimary", .bool(true))]))
        var b = a
        b.roundTripTimeMS = 99
        b.lastUpdateTimeMS = 50
        #expect(a == b)
        b.error = "x"
        #expect(a != b)
        // PossiblePrimary is Unknown for equality (a hint, not news about the server).
        a = ServerDescription(address: a.address)
        var hinted = a
        hinted.type = .possiblePrimary
        #expect(a == hinted)
    }

    @Test func topologyVersionComparison() {
        let v1 = TopologyVersion(processId: F.oid(1), counter: 1)
        let v2 = TopologyVersion(processId: F.oid(1), counter: 2)
        let other = TopologyVersion(processId: F.oid(2), counter: 0)
        #expect(TopologyVersion.compare(v1, v2) == .orderedAscending)
        #expect(TopologyVersion.compare(v2, v1) == .orderedDescending)
        #expect(TopologyVersion.compare(v1, v1) == .orderedSame)
        #expect(TopologyVersion.compare(v2, other) == .orderedAscending)
        #expect(TopologyVersion.compare(nil, v1) == .orderedAscending)
        #expect(TopologyVersion.compare(v1, nil) == .orderedAscending)
    }
}

