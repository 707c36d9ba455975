// swift-tools-version: 6.1
import PackageDescription

/// Examples of the driver in use, in a package of their own (it depends on the driver by path),
/// so that the driver carries no HTTP dependency. CI builds it.
let package = Package(
    name: "mongo-sdam-examples",
    dependencies: [
        .package(name: "mongo-sdam", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // A small HTTP service: the pool and an HTTP server under one ServiceGroup, every
        // request served through the async face.
        .executableTarget(
            name: "PeopleService",
            dependencies: [
                .product(name: "MongoClientPool", package: "mongo-sdam"),
                .product(name: "MongoSimulator", package: "mongo-sdam"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "PeopleService"
        ),
    ],
    swiftLanguageModes: [.v6]
)
