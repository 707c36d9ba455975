import Benchmark
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// The codec on the monitor's path (issue 2): every heartbeat decodes one hello reply, so these
/// are paid once per server per heartbeatFrequencyMS (and far more often while clients wait).
func registerCodecBenchmarks() {
    Benchmark(
        "BSON: decode a 7-host hello reply (BSONDocument)",
        closure: { benchmark, bytes in
            try benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    blackHole(try BSONDocument(bytes: bytes))
                }
            }
        },
        setup: { ReplicaSetFixtures.primaryHello7.encoded() }
    )

    Benchmark(
        "BSON: lazy view of a 7-host hello reply, read the 14 fields SDAM uses",
        closure: { benchmark, bytes in
            try benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    let view = try BSONDocumentView(bytes: bytes)
                    for key in sdamFields { blackHole(view[key]) }
                }
            }
        },
        setup: { ReplicaSetFixtures.primaryHello7.encoded() }
    )

    Benchmark(
        "BSON: encode a 7-host hello reply",
        closure: { benchmark, document in
            benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    blackHole(document.encoded())
                }
            }
        },
        setup: { ReplicaSetFixtures.primaryHello7 }
    )

    Benchmark(
        "Monitor path: OP_MSG frame bytes -> FrameDecoder -> ServerDescription",
        closure: { benchmark, frame in
            // One decoder per connection, reused for every reply, as MonitorConnection does.
            var decoder = FrameDecoder(expectedResponseTo: 7, server: "rs0.example.com:27017")
            let address = ReplicaSetFixtures.member(0)
            benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    decoder.append(frame)
                    guard let message = try? decoder.nextMessage(),
                          let reply = try? Handshake.replyDocument(of: message, from: address) else {
                        benchmark.error("the fixture frame did not decode")
                        return
                    }
                    blackHole(ServerDescription(address: address, hello: reply, roundTripTimeMS: 2.5, now: 1_000))
                }
            }
        },
        setup: { ReplicaSetFixtures.helloFrame(responseTo: 7) }
    )

    Benchmark(
        "Extended JSON: parse a 7-host hello reply",
        closure: { benchmark, json in
            try benchmark.recordingThreadCPUTime {
                for _ in benchmark.scaledIterations {
                    blackHole(try ExtendedJSON.document(from: json))
                }
            }
        },
        setup: { helloJSON }
    )
}

/// The fields `ServerDescription.parse` finds in a primary's reply.
private let sdamFields = [
    "topologyVersion", "ok", "minWireVersion", "maxWireVersion", "setName", "setVersion", "electionId",
    "me", "primary", "hosts", "logicalSessionTimeoutMinutes", "lastWrite", "isWritablePrimary", "secondary",
]

/// The same reply as Extended JSON (what the spec runner parses per response).
private let helloJSON = """
    {"topologyVersion": {"processId": {"$oid": "6543210fedcba98765432100"}, "counter": {"$numberLong": "6"}},
     "hosts": ["a.example.com:27017", "b.example.com:27017", "c.example.com:27017", "d.example.com:27017",
               "e.example.com:27017", "f.example.com:27017", "g.example.com:27017"],
     "setName": "rs0", "setVersion": 3, "isWritablePrimary": true, "secondary": false,
     "primary": "a.example.com:27017", "me": "a.example.com:27017",
     "electionId": {"$oid": "7fffffff0000000000000012"},
     "lastWrite": {"opTime": {"ts": {"$timestamp": {"t": 1700000000, "i": 1}}, "t": 18},
                   "lastWriteDate": {"$date": {"$numberLong": "1700000000000"}}},
     "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
     "localTime": {"$date": {"$numberLong": "1700000000123"}}, "logicalSessionTimeoutMinutes": 30,
     "connectionId": 42, "minWireVersion": 0, "maxWireVersion": 21, "readOnly": false, "ok": 1.0}
    """
