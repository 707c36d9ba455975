import FuzzSupport
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Input layout: byte 0 seeds the chunk plan, byte 1 holds options (bit 0: expect the first
/// header's responseTo on every message; bit 1: maxMessageSizeBytes 1024), the rest is the
/// byte stream a server sends.
///
/// Invariants: decoding in chunks gives exactly what decoding in one piece gives (messages and
/// final error); a failed decoder keeps failing with the same error; every decoded message
/// re-encodes and decodes back to itself; every document inside agrees with the BSON decoders.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = fuzzInput(data, size)
    guard input.count >= 2 else { return 0 }
    let options = input[1]
    let stream = input[2...]
    var template = FrameDecoder()
    if options & 1 != 0, stream.count >= 12 {
        let base = stream.startIndex + 8
        template.expectedResponseTo = Int32(bitPattern: UInt32(stream[base]) | UInt32(stream[base + 1]) << 8
            | UInt32(stream[base + 2]) << 16 | UInt32(stream[base + 3]) << 24)
    }
    if options & 2 != 0 { template.maxMessageSizeBytes = 1024 }

    var plan = ChunkPlan(seed: input[0])
    let chunked = decodeAll(plan.chunks(of: stream), template)
    let whole = decodeAll([stream], template)
    precondition(chunked.messages == whole.messages, "chunking changed the decoded messages")
    precondition(chunked.error == whole.error, "chunking changed the error: \(String(describing: chunked.error)) vs \(String(describing: whole.error))")
    _ = whole.error?.description

    for message in whole.messages { checkRoundTrip(message) }
    return 0
}

/// Feeds the chunks one by one, taking every complete message after each.
func decodeAll(_ chunks: [ArraySlice<UInt8>], _ template: FrameDecoder) -> (messages: [WireMessage], error: WireError?) {
    var decoder = template
    var messages: [WireMessage] = []
    for chunk in chunks {
        decoder.append(chunk)
        do throws(WireError) {
            while let message = try decoder.nextMessage() { messages.append(message) }
        } catch {
            precondition(decoder.failure == error, "the decoder's failure is not the error it threw")
            do throws(WireError) {
                _ = try decoder.nextMessage()
                preconditionFailure("a failed decoder returned normally")
            } catch let again {
                precondition(again == error, "a failed decoder threw a different error the second time")
            }
            return (messages, error)
        }
    }
    return (messages, nil)
}

/// A decoded message encodes, and the encoding decodes to the same message; its documents
/// pass the BSON invariants.
func checkRoundTrip(_ message: WireMessage) {
    let bytes: [UInt8]
    do throws(WireError) { bytes = try message.encoded() } catch {
        preconditionFailure("a decoded message does not encode: \(error)")
    }
    do throws(WireError) {
        let again = try WireMessage.decode(frame: bytes)
        precondition(again == message, "a message changes on an encode/decode round trip")
    } catch {
        preconditionFailure("an encoded message does not decode: \(error)")
    }
    switch message.payload {
    case .msg(let msg):
        BSONInvariants.check(msg.body)
        for sequence in msg.documentSequences {
            for document in sequence.documents { BSONInvariants.check(document) }
        }
    case .reply(let reply):
        for document in reply.documents { BSONInvariants.check(document) }
    case .query(let query):
        BSONInvariants.check(query.query)
        if let selector = query.returnFieldsSelector { BSONInvariants.check(selector) }
    }
}

/// The executable's entry point (see `runFuzzer`).
@_cdecl("FuzzFrameDecoder_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runFuzzer(argc, argv, fuzz)
}
