import MongoBSON
import SDAMCore
import MongoWire
#if canImport(Glibc)
import Glibc
#endif

/// The process environment, read without Foundation (for FaaS detection).
enum ProcessEnvironment {
    /// The environment as it was on first use, read once per process: FaaS detection asks
    /// what the platform set when it started the process, and every pool's monitor and
    /// handshake asks it again (reading `environ` into a dictionary cost about 70 µs of each
    /// pool's start-up, issue 17).
    static let variables: [String: String] = read()

    private static func read() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            // Split at the first "=" by byte: searching the String by Character walked
            // grapheme clusters and cost more than the rest of the read.
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self), count: strlen(entry))
            if let eq = bytes.firstIndex(of: UInt8(ascii: "=")) {
                let name = String(decoding: bytes[..<eq], as: UTF8.self)
                // A name given twice reads as getenv(3) reads it: the first.
                if result[name] == nil { result[name] = String(decoding: bytes[(eq + 1)...], as: UTF8.self) }
            }
            pointer += 1
        }
        return result
    }
}
