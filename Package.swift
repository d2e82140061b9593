// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "raybridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "raybridge", targets: ["raybridge"]),
        .library(name: "RayBridge", targets: ["RayBridge"]),
    ],
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Not Debian's libcrypto, though it would spare every cold build swift-crypto's own BoringSSL
        // (366 C++ files, 146 s of CPU in debug): OpenSSL 3 keeps 3.4 MiB of it resident after its
        // init, and an idle sidecar went from 18.0 to 21.0 MiB (measured 2026-12-08).
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // For the tests only: an independent reader of the working_dir zip the product writes.
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: [
        // Debian's libinotifytools0-dev: headers in /usr/include/inotifytools, no pkg-config file.
        .systemLibrary(
            name: "CInotifyTools",
            providers: [.apt(["libinotifytools0-dev"])]
        ),
        // glibc's <malloc.h>, for mallopt(M_ARENA_MAX).
        .systemLibrary(name: "CMalloc"),
        // Debian's zlib1g-dev: CRC-32 checksums of S3 parts, gzip members of compressed logs.
        // (Not "CZlib": ZIPFoundation has a module of that name.) compress-nio would not replace
        // it: it offers no CRC-32, links the same zlib, and its gzip writer needs the same loop.
        .systemLibrary(name: "CSystemZlib", providers: [.apt(["zlib1g-dev"])]),
        // Debian's libyaml-dev: `raybridge validate FILE.yaml`. Not Yams (which wraps the same
        // libyaml): it links full Foundation and so ICU, 34 MB of the binary for one command.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        // Layers, lowest first; a target sees only the ones above it in this list.
        // Core: the job's spec (Config/), the run's record and status (Run/), files written
        // atomically (Status/), metric names. No network, no inotify.
        .target(
            name: "RayBridgeCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                "CYAML",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // The clients of the outside world: Ray's Jobs and state APIs, S3, and the HTTP(S) they share.
        .target(
            name: "RayBridgeClients",
            dependencies: [
                "RayBridgeCore",
                "CSystemZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The sidecar: the reconcile loop, the driver log's shipping, the ConfigMap watch and the
        // health and metrics endpoints.
        .target(
            name: "RayBridge",
            dependencies: [
                "RayBridgeCore",
                "RayBridgeClients",
                "CInotifyTools",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "raybridge",
            dependencies: [
                "RayBridge",
                "RayBridgeCore",
                "RayBridgeClients",
                "CMalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // What both test targets need to play the outside world: the kubelet's volume writer,
        // `eventually`, the checkout's layout. On purpose it depends on nothing of raybridge.
        .target(name: "RayBridgeTestKit"),
        .testTarget(
            name: "RayBridgeTests",
            dependencies: [
                "RayBridge", "RayBridgeCore", "RayBridgeClients", "RayBridgeTestKit",
                .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "RayBridge",
                "RayBridgeCore",
                "RayBridgeClients",
                "RayBridgeTestKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
