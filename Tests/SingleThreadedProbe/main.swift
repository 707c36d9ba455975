// A process that uses only the single-threaded client, for the test that counts its threads
// (tests run in parallel, so the test process's own count says nothing). It runs operations
// against the deployment at the URI it is given and prints one JSON line: how many threads the
// process had after each operation (at most), which, and what the operations returned.
//
//   SingleThreadedProbe URI
import MongoClientPool
#if canImport(Glibc)
import Glibc
#endif

/// The names of this process's threads, from /proc/self/task (no Foundation: it is not needed).
func threadNames() -> [String] {
    guard let dir = opendir("/proc/self/task") else { return ["?"] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafePointer(to: entry.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        guard name != ".", name != ".." else { continue }
        guard let file = fopen("/proc/self/task/\(name)/comm", "r") else { continue }
        var buffer = [CChar](repeating: 0, count: 64)
        _ = fgets(&buffer, 64, file)
        fclose(file)
        let utf8 = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        names.append(String(decoding: utf8, as: UTF8.self).trimmingSuffix("\n"))
    }
    return names
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}

guard CommandLine.arguments.count == 2 else {
    print("usage: SingleThreadedProbe URI")
    exit(2)
}
var most: [String] = threadNames()
@MainActor func sample() {
    let now = threadNames()
    if now.count > most.count { most = now }
}
var results: [String] = []
do {
    let client = try SingleThreadedClient(uri: CommandLine.arguments[1])
    sample()
    _ = try client.runCommand(["ping": 1], database: "admin", readPreference: .nearest)
    sample()
    _ = try client.runWriteCommand(["insert": "probe", "documents": [["x": 1]]], database: "test")
    sample()
    _ = try client.runCommand(["find": "probe"], database: "test", readPreference: .secondaryPreferred)
    sample()
    results.append("\"servers\":\(client.topology.description.servers.count)")
    results.append("\"scans\":\(client.lastScan?.number ?? 0)")
    client.close()
    sample()
} catch {
    results.append("\"error\":\"\(String(describing: error).replacingAll("\"", with: "'"))\"")
}
let names = most.map { "\"\($0)\"" }.joined(separator: ",")
print("{\"maxThreads\":\(most.count),\"threadNames\":[\(names)]," + results.joined(separator: ",") + "}")

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}
