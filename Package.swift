// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "taas-capture",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "taas-capture", targets: ["taas-capture"]),
        .library(name: "AffinityCore", targets: ["AffinityCore"]),
        .library(name: "CaptureStore", targets: ["CaptureStore"]),
        .library(name: "CaptureServer", targets: ["CaptureServer"]),
        .library(name: "ServiceClient", targets: ["ServiceClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCryptoSHA", path: "Sources/CCryptoSHA", providers: [.apt(["libssl-dev"])]),
        .target(name: "AffinityCore", dependencies: ["CCryptoSHA"]),
        .target(
            name: "CaptureStore",
            dependencies: ["AffinityCore", "CSQLite"],
            // The fleet's PostgreSQL migrations live beside SQLite's; FleetStore embeds those.
            exclude: ["Migrations/postgres"],
            resources: [.embedInCode("Migrations")]
        ),
        // The CLI's blocking client of the service's socket (one request per process), apart from the server.
        .target(name: "ServiceClient", dependencies: ["AffinityCore"]),
        // The one renderer of the report and the dashboard tab's pages (SPEC v3 "The dashboard tab").
        .target(name: "CaptureReport", dependencies: ["AffinityCore", "CaptureStore"]),
        .target(
            name: "FleetStore",
            dependencies: [
                "AffinityCore", "CaptureStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("Migrations")]
        ),
        .target(
            name: "CaptureServer",
            dependencies: [
                "AffinityCore", "CaptureStore", "CaptureReport", "FleetStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "taas-capture",
            dependencies: [
                "AffinityCore", "CaptureStore", "CaptureReport", "CaptureServer", "FleetStore", "ServiceClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "store-bench", dependencies: ["AffinityCore", "CaptureStore", "CSQLite"], path: "Benchmarks/store-bench"),
        .testTarget(name: "AffinityCoreTests", dependencies: ["AffinityCore"]),
        .testTarget(name: "CaptureStoreTests", dependencies: ["CaptureStore", "CaptureReport", "CSQLite"]),
        .testTarget(
            name: "CaptureServerTests",
            dependencies: [
                "AffinityCore", "CaptureServer", "CaptureStore", "ServiceClient",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "FleetStoreTests",
            dependencies: ["AffinityCore", "CaptureStore", "FleetStore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(name: "EndToEndTests", dependencies: ["AffinityCore"]),
    ],
    swiftLanguageModes: [.v6]
)
