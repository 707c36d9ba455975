// swift-tools-version: 6.1
import PackageDescription

/// Benchmarks live in their own package so the main package carries no benchmark dependency
/// (as swift-nio does). Run from this folder: `swift package benchmark`.
let package = Package(
    name: "mongo-sdam-benchmarks",
    dependencies: [
        .package(name: "mongo-sdam", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "SDAMBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "MongoBSON", package: "mongo-sdam"), .product(name: "SDAMCore", package: "mongo-sdam"),
                .product(name: "MongoWire", package: "mongo-sdam"), .product(name: "PoolMonitor", package: "mongo-sdam"),
            ],
            path: "Benchmarks/SDAMBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Timed scenarios of the whole driver against `sdam simulate` (a plain executable:
        // discovery, failover, scale). Run through `./scenarios.sh`.
        .executableTarget(
            name: "SDAMScenarios",
            dependencies: [
                .product(name: "MongoClientPool", package: "mongo-sdam"),
                .product(name: "MongoBSON", package: "mongo-sdam"), .product(name: "SDAMCore", package: "mongo-sdam"),
                .product(name: "MongoWire", package: "mongo-sdam"), .product(name: "PoolMonitor", package: "mongo-sdam"),
            ],
            path: "Scenarios/SDAMScenarios"
        ),
    ],
    swiftLanguageModes: [.v6]
)
