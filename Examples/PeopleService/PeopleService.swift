// PeopleService: a small HTTP service over the async face, run under a ServiceGroup.
//
//   swift run PeopleService                 MONGODB_URI (default mongodb://127.0.0.1:27017/), PORT (8080)
//   swift run PeopleService --simulate      against a simulated replica set started in-process
//
//   curl -X POST localhost:8080/people -d '{"name": "Ada", "age": 36}'
//   curl 'localhost:8080/people?name=Ada'
//
// SIGTERM or SIGINT shut it down gracefully: the HTTP server stops accepting, requests in
// flight finish, then the pool drains and closes (it is listed first, so it stops last).
import Foundation
import Logging
import MongoClientPool
import MongoSimulator
import ServiceLifecycle

@main
struct PeopleServiceMain {
    static func main() async throws {
        var logger = Logger(label: "people-service")
        if let level = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) { logger.logLevel = level }
        let environment = ProcessInfo.processInfo.environment
        var simulator: MongoSimulator?
        var uri = environment["MONGODB_URI"] ?? "mongodb://127.0.0.1:27017/"
        if CommandLine.arguments.contains("--simulate") {
            let set = try MongoSimulator(SimulatorConfiguration(kind: .replicaSet(name: "rs0", members: 3)))
            uri = "mongodb://\(set.addresses[0])/?replicaSet=rs0"
            simulator = set
        }
        let port = environment["PORT"].flatMap(Int.init) ?? 8080

        let pool = try ClientPool(uri: uri, logger: logger)
        let http = HTTPServer(host: "127.0.0.1", port: port, people: People(pool: pool), logger: logger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [.init(service: pool), .init(service: http)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        logger.info("serving on http://127.0.0.1:\(port) over \(uri)")
        try await group.run()
        logger.debug("stopped")
        simulator?.stop()
        logger.debug("simulator stopped")
    }
}

/// The application: people in a collection, reached through the pool's async face only.
struct People: Sendable {
    struct Person: Codable, Sendable {
        var name: String
        var age: Int
    }

    let pool: ClientPool

    /// Inserts one person; a write on the primary.
    func add(_ person: Person) async throws -> BSONDocument {
        let document = try BSONEncoder().encode(person)
        return try await pool.withClient { client in
            try await client.runWriteCommand(["insert": "people", "documents": [.document(document)]], database: "app")
        }
    }

    /// People named `name` (everyone without a name), read from a secondary when there is one.
    func find(named name: String?) async throws -> BSONDocument {
        let filter: BSONDocument = name.map { ["name": .string($0)] } ?? [:]
        return try await pool.withClient { client in
            try await client.runCommand(["find": "people", "filter": .document(filter)], database: "app", readPreference: .secondaryPreferred)
        }
    }

    /// Answers one request: (status, JSON body).
    func respond(method: String, path: String, query: [String: String], body: Data) async -> (Int, String) {
        do {
            switch (method, path) {
            case ("POST", "/people"):
                let person = try JSONDecoder().decode(Person.self, from: body)
                return (201, "\(try await add(person))")
            case ("GET", "/people"):
                return (200, "\(try await find(named: query["name"]))")
            default:
                return (404, #"{"error": "no such route"}"#)
            }
        } catch let error as ClientPoolError {
            return (503, #"{"error": \#(jsonString("\(error)"))}"#)
        } catch {
            return (400, #"{"error": \#(jsonString("\(error)"))}"#)
        }
    }

    private func jsonString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
