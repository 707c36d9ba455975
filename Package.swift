// swift-tools-version: 6.1
import PackageDescription

/// The main package carries no benchmark dependency: `Benchmarks/` is its own package that
/// depends on this one by path.
let package = Package(
    name: "mongo-sdam",
    products: [
        .library(name: "MongoBSON", targets: ["MongoBSON"]),
        .library(name: "SDAMCore", targets: ["SDAMCore"]),
        .library(name: "MongoWire", targets: ["MongoWire"]),
        .library(name: "MongoTLS", targets: ["MongoTLS"]),
        .library(name: "MongoAuth", targets: ["MongoAuth"]),
        .library(name: "PoolMonitor", targets: ["PoolMonitor"]),
        .library(name: "MongoClientPool", targets: ["MongoClientPool"]),
        .library(name: "SpecRunner", targets: ["SpecRunner"]),
        .library(name: "MongoSimulator", targets: ["MongoSimulator"]),
        .executable(name: "sdam", targets: ["sdam"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // libev: Debian's libev-dev ships no pkg-config file, so the module map links `ev`.
        .systemLibrary(
            name: "CLibev",
            path: "Sources/CLibev",
            providers: [.apt(["libev-dev"])]
        ),
        // glibc's stub resolver (libresolv, part of libc6-dev) for SRV and TXT records: the module
        // map links `resolv`; a shim wraps the macros Swift cannot call (res_nsearch, ns_msg_count).
        .systemLibrary(name: "CResolv", path: "Sources/CResolv"),
        // OpenSSL 3 from Debian's libssl-dev (no pkg-config needed: the module map links ssl and
        // crypto); a shim wraps the macros Swift cannot call.
        .systemLibrary(
            name: "COpenSSL",
            path: "Sources/COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        // TLS sessions over memory BIOs (the caller moves the bytes, so no SIGPIPE and no
        // blocking), the per-pool TLS context, and the cryptography authentication needs.
        .target(name: "MongoTLS", dependencies: ["COpenSSL"], path: "Sources/TLS"),
        // Authentication without I/O: SASLprep, the SCRAM-SHA-1 and SCRAM-SHA-256 conversations
        // (client, and a server side for the simulator), their SASL command documents and a
        // cache of derived keys. Foundation only for SASLprep's NFKC.
        .target(name: "MongoAuth", dependencies: ["MongoBSON", "MongoTLS"], path: "Sources/Auth"),
        // BSON values and documents, their validating parser, Extended JSON and plain JSON.
        .target(name: "MongoBSON", path: "Sources/BSON"),
        // The pure SDAM core: descriptions, the state machine, selection, check scheduling,
        // the connection string and the settings. No Glibc, Dispatch, Foundation or libev
        // (checked by scripts/check-purity.sh): time, randomness and I/O results are inputs.
        .target(name: "SDAMCore", dependencies: [
            "MongoBSON", .product(name: "HashTreeCollections", package: "swift-collections"),
        ]),
        // The wire protocol: frames, OP_MSG, OP_QUERY/OP_REPLY, the incremental decoder and
        // the handshake documents.
        .target(name: "MongoWire", dependencies: ["MongoBSON", "SDAMCore"], path: "Sources/Wire"),
        // The loop, sockets, name resolution (addresses, SRV and TXT records), SRV polling, the
        // monitors and the Topology shell.
        .target(
            name: "PoolMonitor",
            dependencies: [
                "CLibev", "CResolv", "MongoBSON", "SDAMCore", "MongoWire", "MongoTLS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The application's face: the pool of clients, selection waits, command execution.
        // Its module is not named after its main type (`ClientPool`), so both can be named.
        .target(
            name: "MongoClientPool",
            dependencies: [
                "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "MongoTLS", "MongoAuth",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/ClientPool"
        ),
        // Runs the official JSON spec tests; shared by `sdam spec-test` and the test suite.
        // The CMAP format drives the real per-server pool (MongoClientPool), its integration
        // files against the simulator.
        .target(name: "SpecRunner", dependencies: [
            "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "MongoClientPool", "MongoSimulator", "MongoTLS",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A simulated deployment speaking the wire protocol on loopback, for tests and demos.
        .target(name: "MongoSimulator", dependencies: ["MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "MongoTLS", "MongoAuth"]),
        // A process that uses only the single-threaded client, run by the test that counts its
        // threads (EndToEndTests/SingleThreadedClientTests).
        .executableTarget(name: "SingleThreadedProbe", dependencies: ["MongoClientPool"], path: "Tests/SingleThreadedProbe"),
        .executableTarget(
            name: "sdam",
            dependencies: [
                "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor",
                "MongoClientPool", "MongoTLS",
                "SpecRunner",
                "MongoSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The child process of AsyncWaitTests: 10,000 tasks waiting through the async face, in
        // a process of their own so that its threads can be counted.
        .executableTarget(name: "AsyncWaitProbe", dependencies: ["MongoClientPool", "PoolMonitor"], path: "Tests/AsyncWaitProbe"),
        // Fixtures shared by the test targets: seeded randomness, resource counts, loopback peers.
        .target(name: "TestSupport", dependencies: ["MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "MongoSimulator"], path: "Tests/TestSupport"),
        .testTarget(name: "TLSTests", dependencies: ["MongoTLS", "MongoSimulator", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "AuthTests", dependencies: ["MongoAuth", "MongoBSON", "MongoTLS", "SDAMCore"]),
        .testTarget(name: "PoolMonitorTests", dependencies: ["MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "ClientPoolTests", dependencies: ["MongoClientPool", "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner", "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "MongoSimulatorTests", dependencies: ["MongoSimulator", "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "TestSupport"]),
        // The story on loopback: the monitor and the pool against the simulated deployment.
        // Only `import MongoClientPool` in its test file: what an application sees.
        .testTarget(name: "PublicAPITests", dependencies: ["MongoClientPool", "MongoSimulator"]),
        .testTarget(name: "EndToEndTests", dependencies: [
            "MongoBSON", "SDAMCore", "MongoWire", "PoolMonitor", "MongoClientPool", "MongoSimulator", "SpecRunner", "TestSupport",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
