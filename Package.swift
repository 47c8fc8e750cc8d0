// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Logbook",
    products: [
        .library(name: "Logbook", targets: ["Logbook"]),
        .library(name: "LogbookAgents", targets: ["LogbookAgents"]),
        .library(name: "LogbookCodable", targets: ["LogbookCodable"]),
        .executable(name: "logbook", targets: ["logbook"]),
        .executable(name: "logbook-bench", targets: ["LogbookBench"]),
    ],
    targets: [
        .target(name: "CLogbookShims"),
        .target(name: "Logbook", dependencies: ["CLogbookShims"]),
        .target(name: "LogbookAgents", dependencies: ["Logbook"]),
        // JSON values through Codable: the one part that needs FoundationEssentials, kept apart
        // so that the library and the CLI load none of it.
        .target(name: "LogbookCodable", dependencies: ["Logbook"]),
        // The CLI's strict parser of JSON input lines, apart so that a fuzzer can reach it.
        .target(name: "LogbookJSON"),
        // A release build of the CLI is one static program (the Swift runtime and the C library
        // linked in): an agent tool starts it thousands of times, and the dynamic loader's work
        // was most of a small command's run (Docs/CLI.md, "What a run costs"). Linked with the
        // toolchain's lld: gold warns on every link that glibc's dlopen needs shared libraries at
        // run time, and the one caller, in the Swift runtime, runs only under a debugging
        // variable. Debug builds stay dynamic (the sanitizers need that).
        .executableTarget(
            name: "logbook", dependencies: ["Logbook", "LogbookAgents", "LogbookJSON"],
            linkerSettings: [
                .unsafeFlags(
                    ["-static-executable", "-use-ld=lld"], .when(platforms: [.linux], configuration: .release))
            ]),
        .executableTarget(
            name: "LogbookBench", dependencies: ["Logbook", "LogbookAgents", "LogbookJSON", "CLogbookShims"],
            path: "Benchmarks/LogbookBench"),
        .executableTarget(
            name: "logbook-test-helper", dependencies: ["Logbook"], path: "Tests/LogbookTestHelper"),
        // Test support shared by test targets (a file layer that dies, a seeded generator).
        .target(name: "LogbookTestSupport", dependencies: ["Logbook"], path: "Tests/LogbookTestSupport"),
        .testTarget(
            name: "LogbookTests", dependencies: ["Logbook", "LogbookCodable", "CLogbookShims", "LogbookTestSupport"],
            exclude: ["Fixtures"]),
        // Fuzzers (Fuzz/run.sh builds them with -sanitize=fuzzer -DFUZZING; a plain build makes
        // each a small program that replays the inputs named on its command line).
        .target(name: "CFuzzDriver", path: "Fuzz/Driver"),
        .target(name: "FuzzSupport", dependencies: ["Logbook", "CFuzzDriver"], path: "Fuzz/Support"),
        .executableTarget(name: "fuzz-seeds", dependencies: ["Logbook", "LogbookAgents", "FuzzSupport"], path: "Fuzz/Seeds"),
        .executableTarget(name: "fuzz-log-records", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/LogRecords"),
        .executableTarget(name: "fuzz-log-payload", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/LogPayload"),
        .executableTarget(name: "fuzz-segment-header", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/SegmentHeader"),
        .executableTarget(name: "fuzz-manifest", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/Manifest"),
        .executableTarget(name: "fuzz-snapshot-index", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/SnapshotIndex"),
        .executableTarget(name: "fuzz-snapshot-block", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/SnapshotBlock"),
        .executableTarget(name: "fuzz-lock-holder", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/LockHolder"),
        .executableTarget(name: "fuzz-store-open", dependencies: ["Logbook", "FuzzSupport"], path: "Fuzz/StoreOpen"),
        .executableTarget(
            name: "fuzz-agent-records", dependencies: ["LogbookAgents", "FuzzSupport"], path: "Fuzz/AgentRecords"),
        .executableTarget(name: "fuzz-json-line", dependencies: ["LogbookJSON", "FuzzSupport"], path: "Fuzz/JSONLine"),
        .testTarget(name: "LogbookCrashTests", dependencies: ["Logbook"]),
        .testTarget(name: "CLITests", dependencies: ["Logbook", "LogbookAgents"]),
        .testTarget(name: "LogbookAgentsTests", dependencies: ["LogbookAgents", "Logbook", "LogbookTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
