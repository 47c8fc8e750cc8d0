// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Logbook",
    products: [
        .library(name: "Logbook", targets: ["Logbook"]),
        .library(name: "LogbookAgents", targets: ["LogbookAgents"]),
        .executable(name: "logbook", targets: ["logbook"]),
        .executable(name: "logbook-bench", targets: ["LogbookBench"]),
    ],
    targets: [
        .target(name: "CLogbookShims"),
        .target(name: "Logbook", dependencies: ["CLogbookShims"]),
        .target(name: "LogbookAgents", dependencies: ["Logbook"]),
        .executableTarget(name: "logbook", dependencies: ["Logbook", "LogbookAgents"]),
        .executableTarget(
            name: "LogbookBench", dependencies: ["Logbook", "LogbookAgents", "CLogbookShims"], path: "Benchmarks/LogbookBench"),
        .executableTarget(
            name: "logbook-test-helper", dependencies: ["Logbook"], path: "Tests/LogbookTestHelper"),
        .testTarget(name: "LogbookTests", dependencies: ["Logbook", "CLogbookShims"], exclude: ["Fixtures"]),
        .testTarget(name: "LogbookCrashTests", dependencies: ["Logbook"]),
        .testTarget(name: "CLITests", dependencies: ["Logbook", "LogbookAgents"]),
        .testTarget(name: "LogbookAgentsTests", dependencies: ["LogbookAgents", "Logbook"]),
    ],
    swiftLanguageModes: [.v6]
)
