import Benchmark
import PoolMonitor

/// Parsing the Extended JSON of a typical hello reply (what the spec runner does per response).
func registerCodecBenchmarks() {
    let helloJSON = """
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
    Benchmark("Extended JSON: parse a 7-host hello reply") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try ExtendedJSON.document(from: helloJSON))
        }
    }
}
