import Testing
@testable import MongoBSON
@testable import SDAMCore
@testable import MongoWire
@_spi(LoopPrimitives) @testable import PoolMonitor

@Suite struct WireOpCompressedTests {
    @Test func isRefusedWithTheOriginalOpcodeAndCompressor() {
        let body = WireFixture.int32LE(2013) + WireFixture.int32LE(100) + [1] + [UInt8](repeating: 0xAB, count: 10)
        let error = WireError(.compressionNotSupported(originalOpCode: 2013, compressorID: 1))
        #expect(throws: error) { try WireMessage.decode(frame: WireFixture.frame(opCode: 2012, body: body)) }
        #expect(error.description
            == "compression is not supported: server sent OP_COMPRESSED (original opcode 2013, compressor id 1)")
    }

    @Test func truncatedHeaderFieldsAreReportedAsSuch() {
        #expect(throws: WireError(.truncated(field: "OP_COMPRESSED compressorId", needed: 1, available: 0))) {
            try WireMessage.decode(frame: WireFixture.frame(opCode: 2012, body: WireFixture.int32LE(1) + WireFixture.int32LE(5)))
        }
    }

    @Test func isRefusedByTheFrameDecoderToo() {
        var decoder = FrameDecoder(server: "db.example.com:27017")
        decoder.append(WireFixture.frame(opCode: 2012, body: WireFixture.int32LE(1) + WireFixture.int32LE(0) + [3]))
        let expected = WireError(.compressionNotSupported(originalOpCode: 1, compressorID: 3), server: "db.example.com:27017")
        #expect(throws: expected) { try decoder.nextMessage() }
    }
}
