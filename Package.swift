// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-dev", targets: ["sluice-dev"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // The system libsqlite3 (libsqlite3-dev on Debian).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // The system zlib (zlib1g-dev on Debian), for gzip request bodies.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Binds hypot and hypotf to their oldest glibc versions, so that `sluice` runs on Lambda's glibc 2.34
        // (a build on glibc 2.35 or later otherwise needs hypot@GLIBC_2.35). Nothing to import; only linked.
        .target(name: "CGlibcCompat"),
        // Wall-clock time in milliseconds and its text forms, without a calendar library; the wait
        // primitive and the lock the other modules share.
        .target(name: "SluiceTime", swiftSettings: strict),
        // JSON without a tree: the strict scanner, string escaping and hex, for every shipped module.
        .target(name: "SluiceJSON", swiftSettings: strict),
        // Turns migrations/NNNN_name.sql into Swift source at build time; never shipped.
        .executableTarget(name: "migration-embedder", swiftSettings: strict),
        .plugin(
            name: "EmbedMigrations",
            capability: .buildTool(),
            dependencies: ["migration-embedder"]
        ),
        .target(
            name: "SluiceSpool",
            dependencies: [
                "CSQLite", "SluiceTime", "SluiceDigest", "SluiceJSON",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            plugins: ["EmbedMigrations"]
        ),
        // SHA-256 in C, on the x86 SHA extensions where the CPU has them, and HMAC-SHA256: document
        // ids, SigV4, migration checksums. (swift-crypto carried a second BoringSSL for these two.)
        .target(name: "CDigest"),
        .target(name: "SluiceDigest", dependencies: ["CDigest"], swiftSettings: strict),
        // The HTTP/1.1 client of the shipped modules: keep-alive connections per origin, TLS with
        // verification, a deadline per request, a bound on the answer, errors that say what happened.
        .target(
            name: "SluiceHTTP",
            dependencies: [
                "SluiceTime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        // AWS credentials from the environment, the SigV4 signer, Secrets Manager GetSecretValue.
        .target(
            name: "SluiceAWS",
            dependencies: [
                "SluiceTime", "SluiceJSON", "SluiceHTTP", "SluiceDigest",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // A plain OpenSearch client, knowing nothing of Lambda: bulk encoding, per-item outcomes,
        // retry policy, index creation, auth.
        .target(
            name: "SluiceOpenSearch",
            dependencies: [
                "SluiceAWS", "SluiceTime", "SluiceJSON", "SluiceHTTP", "SluiceDigest", "CZlib",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The Lambda side, knowing neither storage nor sink: the Extensions API client, the
        // Telemetry API subscription, the telemetry listener and delivery validation.
        .target(
            name: "SluiceLambda",
            dependencies: [
                "SluiceTime", "SluiceJSON", "SluiceHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Ingest: a validated delivery becomes documents (fields, ids, index routing and mappings)
        // stored in the spool in one transaction before it is answered.
        .target(
            name: "SluiceIngest",
            dependencies: [
                "SluiceLambda", "SluiceSpool", "SluiceJSON", "SluiceTime", "SluiceDigest",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Shipping: the spool drained into OpenSearch, every record settled by its outcome.
        .target(
            name: "SluiceShipping",
            dependencies: [
                "SluiceSpool", "SluiceOpenSearch", "SluiceTime",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Composes the stages: configuration, wiring, the /next lifecycle and the SHUTDOWN drain.
        .target(
            name: "SluiceForwarder",
            dependencies: [
                "SluiceSpool", "SluiceOpenSearch", "SluiceLambda", "SluiceIngest", "SluiceShipping", "SluiceTime",
                "SluiceHTTP", "SluiceDigest",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceSpool", "SluiceTime", "SluiceJSON", "SluiceIngest", "SluiceForwarder", "SluiceLambda",
                "CGlibcCompat",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // Benchmarks and test fixtures (synthetic spools, a crash-test writer); never shipped.
        .executableTarget(
            name: "sluice-dev",
            dependencies: [
                "SluiceSpool", "SluiceTime", "SluiceOpenSearch", "SluiceIngest", "SluiceShipping", "SluiceForwarder",
                "SluiceLambda", "LambdaSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                "CSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer's LLVMFuzzerRunDriver, declared only: `tools/fuzz` links libFuzzer (without its main)
        // into `sluice-fuzz`; the normal build never calls it.
        .target(name: "CFuzzerDriver"),
        // The fuzz targets' oracles: what must hold for any delivery, `_bulk` answer, secret, error
        // answer, damaged spool file or environment; `sluice-fuzz` and SluiceFuzzingTests run them.
        .target(
            name: "SluiceFuzzing",
            dependencies: [
                "SluiceSpool", "SluiceAWS", "SluiceOpenSearch", "SluiceLambda", "SluiceIngest", "SluiceShipping",
                "SluiceForwarder", "SluiceTime", "SluiceJSON", "SluiceHTTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The libFuzzer driver of the fuzz targets (`tools/fuzz`); built without SLUICE_FUZZ it replays
        // files through the oracles. Never shipped.
        .executableTarget(
            name: "sluice-fuzz",
            dependencies: ["SluiceFuzzing", "SluiceTime", "CFuzzerDriver"],
            swiftSettings: strict
        ),
        // An emulated Lambda platform (Extensions API, Telemetry API, freeze, shutdown) for tests,
        // the demo and benchmarks; shares no code with the extension it runs, so it cannot share its mistakes.
        .target(
            name: "LambdaSimulator",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // A test-only SQLite VFS that makes chosen reads, writes and fsyncs of a test's files fail.
        .target(name: "CSQLiteFaults", dependencies: ["CSQLite"], path: "Tests/CSQLiteFaults"),
        // Temporary folders, clocks, fixtures and process helpers shared by the test targets.
        .target(
            name: "SluiceTestSupport",
            dependencies: [
                "SluiceSpool", "SluiceAWS", "SluiceTime", "SluiceJSON", "SluiceIngest", "LambdaSimulator",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/SluiceTestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceSpoolTests",
            dependencies: [
                "SluiceSpool", "SluiceTestSupport", "CSQLite", "CSQLiteFaults", "LambdaSimulator",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceAWSTests",
            dependencies: [
                "SluiceAWS", "SluiceTestSupport", "SluiceTime", "SluiceHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SluiceTimeTests", dependencies: ["SluiceTime"], swiftSettings: strict),
        .testTarget(name: "SluiceDigestTests", dependencies: ["SluiceDigest", "SluiceJSON"], swiftSettings: strict),
        .testTarget(
            name: "SluiceHTTPTests",
            dependencies: [
                "SluiceHTTP", "SluiceTestSupport", "SluiceTime",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "SluiceJSONTests", dependencies: ["SluiceJSON"], swiftSettings: strict),
        .testTarget(
            name: "SluiceOpenSearchTests",
            dependencies: [
                "SluiceOpenSearch", "SluiceAWS", "SluiceTime", "SluiceTestSupport", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceIngestTests",
            dependencies: [
                "SluiceIngest", "SluiceLambda", "SluiceSpool", "SluiceTestSupport", "SluiceTime", "CSQLiteFaults",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceShippingTests",
            dependencies: [
                "SluiceShipping", "SluiceIngest", "SluiceOpenSearch", "SluiceSpool", "SluiceAWS", "SluiceTestSupport",
                "SluiceTime", "SluiceHTTP", "CSQLiteFaults",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceLambdaTests",
            dependencies: [
                "SluiceLambda", "SluiceTestSupport", "SluiceTime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceForwarderTests",
            dependencies: [
                "SluiceForwarder", "SluiceIngest", "SluiceShipping", "SluiceOpenSearch", "SluiceSpool", "SluiceLambda",
                "SluiceTestSupport", "SluiceTime",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "LambdaSimulatorTests",
            dependencies: [
                "LambdaSimulator", "SluiceTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "LambdaSimulator", "SluiceSpool", "SluiceTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        // The layer's checks: tools/check-glibc and the glibc shim, the SAM template's variables.
        .testTarget(
            name: "SluiceLayerTests",
            dependencies: ["SluiceForwarder", "SluiceTestSupport"],
            swiftSettings: strict
        ),
        // Replays every file of Tests/Fuzz/Corpus and Tests/Fuzz/Regressions through its target's oracle.
        .testTarget(
            name: "SluiceFuzzingTests",
            dependencies: ["SluiceFuzzing"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SluiceCLITests",
            dependencies: [
                "SluiceSpool", "SluiceTestSupport", "SluiceDigest",
            ],
            swiftSettings: strict
        ),
    ]
)
