import Testing
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor
@testable import MongoSimulator

/// The streaming fields of a hello, read and judged without sockets.
@Suite struct AwaitableHelloRequestTests {
    let processId = BSONObjectID(hex: "0123456789abcdef01234567")!
    let otherProcess = BSONObjectID(hex: "76543210fedcba9876543210")!

    func command(_ version: BSON?, _ maxAwait: BSON?) -> BSONDocument {
        var command: BSONDocument = ["hello": .int32(1)]
        if let version { command["topologyVersion"] = version }
        if let maxAwait { command["maxAwaitTimeMS"] = maxAwait }
        return command
    }

    func version(_ counter: Int64, _ process: BSONObjectID? = nil) -> BSON {
        .document(["processId": .objectID(process ?? processId), "counter": .int64(counter)])
    }

    @Test func plainHelloIsNotAwaitable() throws {
        #expect(try AwaitableHelloRequest.parse(["hello": .int32(1)]) == nil)
    }

    @Test func readsBothFields() throws {
        let request = try #require(try AwaitableHelloRequest.parse(command(version(4), .int32(10_000))))
        #expect(request == AwaitableHelloRequest(topologyVersion: TopologyVersion(processId: processId, counter: 4), maxAwaitTimeMS: 10_000))
    }

    @Test func oneFieldWithoutTheOtherIsRefused() {
        #expect(throws: CommandFailure.self) { try AwaitableHelloRequest.parse(command(version(1), nil)) }
        #expect(throws: CommandFailure.self) { try AwaitableHelloRequest.parse(command(nil, .int64(5))) }
        do {
            _ = try AwaitableHelloRequest.parse(command(version(1), nil))
        } catch {
            #expect(error.code == 51760)
        }
    }

    @Test func malformedFieldsAreTypedErrors() {
        func code(_ document: BSONDocument) -> Int32? {
            do {
                _ = try AwaitableHelloRequest.parse(document)
                return nil
            } catch {
                return error.code
            }
        }
        #expect(code(command(version(1), .int64(-1))) == 31373)
        #expect(code(command(version(1), .double(1.5))) == 31373)
        #expect(code(command(version(1), .string("10"))) == 31373)
        #expect(code(command(.int32(3), .int64(10))) == 14)
        #expect(code(command(.document(["counter": .int64(1)]), .int64(10))) == 14)
    }

    @Test func waitsOnlyForTheSameProcessAtANewerOrEqualCounter() throws {
        let current = TopologyVersion(processId: processId, counter: 5)
        func waits(_ version: BSON) throws -> Bool {
            try #require(try AwaitableHelloRequest.parse(command(version, .int32(100)))).waits(at: current)
        }
        #expect(try waits(version(5)))
        #expect(try waits(version(6)))
        #expect(try !waits(version(4)))
        #expect(try !waits(version(5, otherProcess)))
    }
}
