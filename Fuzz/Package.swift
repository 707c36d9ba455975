// swift-tools-version: 6.1
import PackageDescription

/// libFuzzer targets for the parsers that read untrusted bytes, in their own package so that
/// the main package carries no fuzzing flags. Build and run with `Fuzz/run.sh` (it passes
/// `-sanitize=fuzzer,address` to every module, the library included, so that the fuzzer sees
/// the library's coverage). Each `Fuzz*` executable defines `LLVMFuzzerTestOneInput` and gets
/// its `main` from libFuzzer; `FuzzSeeds` is an ordinary tool, built without those flags.
let package = Package(
    name: "mongo-sdam-fuzz",
    dependencies: [
        .package(name: "mongo-sdam", path: ".."),
    ],
    targets: [
        // Invariant checks shared by the fuzz targets (BSON round trips, chunk plans).
        .target(
            name: "FuzzSupport",
            dependencies: ["CFuzzer", .product(name: "MongoBSON", package: "mongo-sdam"), .product(name: "SDAMCore", package: "mongo-sdam"),
                .product(name: "MongoWire", package: "mongo-sdam"), .product(name: "PoolMonitor", package: "mongo-sdam")]
        ),
        // Declares libFuzzer's LLVMFuzzerRunDriver for Swift.
        .target(name: "CFuzzer"),
        .executableTarget(name: "FuzzFrameDecoder", dependencies: fuzzDependencies),
        .executableTarget(name: "FuzzBSON", dependencies: fuzzDependencies),
        .executableTarget(name: "FuzzHello", dependencies: fuzzDependencies),
        .executableTarget(name: "FuzzConnectionString", dependencies: fuzzDependencies),
        // Writes seed corpora from the official spec data (read at run time, never copied).
        .executableTarget(
            name: "FuzzSeeds",
            dependencies: [.product(name: "MongoBSON", package: "mongo-sdam"), .product(name: "SDAMCore", package: "mongo-sdam"),
                .product(name: "MongoWire", package: "mongo-sdam"), .product(name: "PoolMonitor", package: "mongo-sdam")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

var fuzzDependencies: [Target.Dependency] {
    ["FuzzSupport", .product(name: "MongoBSON", package: "mongo-sdam"), .product(name: "SDAMCore", package: "mongo-sdam"),
                .product(name: "MongoWire", package: "mongo-sdam"), .product(name: "PoolMonitor", package: "mongo-sdam")]
}
