import Foundation
import MongoBSON
import SDAMCore
import MongoWire
@_spi(LoopPrimitives) import PoolMonitor

/// Writes seed corpora for the fuzz targets from the official spec data, read at run time:
///
///     FuzzSeeds SPECS_DIR CORPUS_DIR
///
/// - `FuzzBSON`: bson-corpus `canonical_bson`, `degenerate_bson` and `decodeErrors` bytes, and
///   the `canonical_extjson` texts (the target also reads its input as Extended JSON).
/// - `FuzzHello`: every hello reply of the SDAM tests (`phases[].responses`), as BSON.
/// - `FuzzFrameDecoder`: those replies framed as OP_MSG and OP_REPLY, alone and two in a row,
///   behind the target's two leading bytes (chunk seed, options).
/// - `FuzzConnectionString`: every `uri` of the connection-string, uri-options and SDAM tests.
///
/// Seeds are named `seed-…`; other files in the corpus folders (the fuzzer's own finds) stay.
@main
struct FuzzSeeds {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 3 else {
            FileHandle.standardError.write(Data("usage: FuzzSeeds SPECS_DIR CORPUS_DIR\n".utf8))
            exit(2)
        }
        let specs = URL(fileURLWithPath: arguments[1])
        let corpus = URL(fileURLWithPath: arguments[2])
        var seeds = Seeds()

        for file in try jsonFiles(under: specs.appendingPathComponent("bson-corpus")) {
            let json = try JSONParser.parse(Array(try Data(contentsOf: file)))
            for test in json["valid"]?.arrayValue ?? [] {
                for field in ["canonical_bson", "degenerate_bson"] {
                    if let hex = test[field]?.stringValue, let bytes = bytes(hex: hex) { seeds.bson.append(bytes) }
                }
                if let text = test["canonical_extjson"]?.stringValue { seeds.bson.append(Array(text.utf8)) }
            }
            for test in json["decodeErrors"]?.arrayValue ?? [] {
                if let hex = test["bson"]?.stringValue, let bytes = bytes(hex: hex) { seeds.bson.append(bytes) }
            }
        }

        for folder in ["connection-string", "uri-options", "server-discovery-and-monitoring"] {
            for file in try jsonFiles(under: specs.appendingPathComponent(folder)) {
                let json = try JSONParser.parse(Array(try Data(contentsOf: file)))
                if let uri = json["uri"]?.stringValue { seeds.uris.append(Array(uri.utf8)) }
                for test in json["tests"]?.arrayValue ?? [] {
                    if let uri = test["uri"]?.stringValue { seeds.uris.append(Array(uri.utf8)) }
                }
                for phase in json["phases"]?.arrayValue ?? [] {
                    for response in phase["responses"]?.arrayValue ?? [] {
                        guard let pair = response.arrayValue, pair.count == 2,
                              case .document(let hello) = try ExtendedJSON.value(from: pair[1])
                        else { continue }
                        seeds.hellos.append(hello.encoded())
                    }
                }
            }
        }

        try write(seeds.bson, to: corpus.appendingPathComponent("FuzzBSON"))
        try write(seeds.hellos, to: corpus.appendingPathComponent("FuzzHello"))
        try write(seeds.uris, to: corpus.appendingPathComponent("FuzzConnectionString"))
        try write(try frames(of: seeds.hellos), to: corpus.appendingPathComponent("FuzzFrameDecoder"))
    }

    /// Each hello as an OP_MSG and as an OP_REPLY, then pairs of consecutive ones in one
    /// stream; the leading bytes vary the chunk plan and the options.
    static func frames(of hellos: [[UInt8]]) throws -> [[UInt8]] {
        var streams: [[UInt8]] = []
        for (i, hello) in hellos.enumerated() {
            let requestID = Int32(i + 1)
            let msg = try WireMessage(requestID: requestID, responseTo: 7, payload: .msg(OpMsg(body: hello))).encoded()
            let reply = try WireMessage(requestID: requestID, responseTo: 7, payload: .reply(OpReply(documents: [hello]))).encoded()
            let prefix: [UInt8] = [UInt8(truncatingIfNeeded: i * 37), UInt8(i % 4)]
            streams.append(prefix + msg)
            streams.append(prefix + reply)
            if i + 1 < hellos.count {
                let next = try WireMessage(requestID: requestID + 1, responseTo: 7, payload: .msg(OpMsg(body: hellos[i + 1]))).encoded()
                streams.append([UInt8(truncatingIfNeeded: 255 - i), 1] + msg + next)
            }
        }
        return streams
    }

    /// The folder's JSON files, recursively; a missing or empty folder is an error (the seeds
    /// would silently be missing otherwise).
    static func jsonFiles(under folder: URL) throws -> [URL] {
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        let files = (walker?.compactMap { $0 as? URL } ?? []).filter { $0.pathExtension == "json" }
        guard !files.isEmpty else { throw MissingSpecData(folder: folder.path) }
        return files.sorted { $0.path < $1.path }
    }

    /// Writes each distinct seed as `seed-N`, creating the folder.
    static func write(_ seeds: [[UInt8]], to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var seen = Set<[UInt8]>()
        var count = 0
        for seed in seeds where seen.insert(seed).inserted {
            try Data(seed).write(to: folder.appendingPathComponent("seed-\(count)"))
            count += 1
        }
        print("\(folder.lastPathComponent): \(count) seeds")
    }

    /// The bytes of a bson-corpus hex field (the data is the specification's, not hostile).
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }
}

struct MissingSpecData: Error, CustomStringConvertible {
    var folder: String
    var description: String { "no spec JSON files under \(folder)" }
}

struct Seeds {
    var bson: [[UInt8]] = []
    var hellos: [[UInt8]] = []
    var uris: [[UInt8]] = []
}
