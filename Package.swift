// swift-tools-version: 6.1
import PackageDescription

/// The main package carries no benchmark dependency: `Benchmarks/` is its own package that
/// depends on this one by path.
let package = Package(
    name: "mongo-sdam",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "PoolMonitor", targets: ["PoolMonitor"]),
        .library(name: "ClientPool", targets: ["ClientPool"]),
        .library(name: "SpecRunner", targets: ["SpecRunner"]),
        .library(name: "MongoSimulator", targets: ["MongoSimulator"]),
        .executable(name: "sdam", targets: ["sdam"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // libev: Debian's libev-dev ships no pkg-config file, so the module map links `ev`.
        .systemLibrary(
            name: "CLibev",
            path: "Sources/CLibev",
            providers: [.apt(["libev-dev"])]
        ),
        .target(
            name: "PoolMonitor",
            dependencies: [
                "CLibev",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ClientPool",
            dependencies: [
                "PoolMonitor",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Runs the official JSON spec tests; shared by `sdam spec-test` and the test suite.
        .target(name: "SpecRunner", dependencies: ["PoolMonitor"]),
        // A simulated deployment speaking the wire protocol on loopback, for tests and demos.
        .target(name: "MongoSimulator", dependencies: ["PoolMonitor"]),
        .executableTarget(
            name: "sdam",
            dependencies: [
                "PoolMonitor",
                "ClientPool",
                "SpecRunner",
                "MongoSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fixtures shared by the test targets: seeded randomness, resource counts, loopback peers.
        .target(name: "TestSupport", dependencies: ["PoolMonitor"], path: "Tests/TestSupport"),
        .testTarget(name: "PoolMonitorTests", dependencies: ["PoolMonitor", "TestSupport"]),
        .testTarget(name: "ClientPoolTests", dependencies: ["ClientPool", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "SpecRunnerTests", dependencies: ["SpecRunner", "PoolMonitor", "TestSupport"]),
        .testTarget(name: "MongoSimulatorTests", dependencies: ["MongoSimulator", "PoolMonitor", "TestSupport"]),
        // The story on loopback: the monitor and the pool against the simulated deployment.
        .testTarget(name: "EndToEndTests", dependencies: ["PoolMonitor", "ClientPool", "MongoSimulator", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
