// swift-tools-version:6.0
// cc-bridge-tui: terminal client for cc-bridge's FIFO mode.
// Layers point inward: executables -> BridgeTUI / BridgeAgent -> BridgeCore. Only BridgeTUI sees ncurses.
import PackageDescription

let package = Package(
    name: "cc-bridge-tui",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cc-bridge-tui", targets: ["cc-bridge-tui"]),
        .executable(name: "cc-bridge-agent", targets: ["cc-bridge-agent"]),
        .executable(name: "ccb-bench", targets: ["ccb-bench"]),
        .executable(name: "ccb-fuzz", targets: ["ccb-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The HTTP input (BridgeHTTP): no SwiftNIO, a small clean build (docs/DECISIONS.md).
        .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CNcursesw",
            path: "Sources/CNcursesw",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncurses-dev"])]
        ),
        .target(
            name: "BridgeCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "BridgeTUI", dependencies: ["BridgeCore", "CNcursesw"]),
        // The server's HTTP input (docs/server.md, "HTTP"): FlyingFox on its own threads, every
        // ServerCore call hopped onto the server's loop. BridgeCore stays free of it.
        .target(
            name: "BridgeHTTP",
            dependencies: [
                "BridgeCore", .product(name: "FlyingFox", package: "FlyingFox"),
                .product(name: "FlyingSocks", package: "FlyingFox"),
            ]
        ),
        // prctl(2) for the agent (child subreaper): Swift cannot call variadic C functions.
        .target(name: "CAgentSys"),
        .target(name: "BridgeAgent", dependencies: ["BridgeCore", "CAgentSys"]),
        .executableTarget(
            name: "cc-bridge-tui",
            dependencies: [
                "BridgeCore", "BridgeTUI", "BridgeHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "cc-bridge-agent",
            dependencies: [
                "BridgeAgent", "BridgeCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "ccb-bench",
            dependencies: [
                "BridgeCore", "BridgeTUI", "BridgeHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets for the parsers of untrusted bytes. Normal builds: a corpus replayer;
        // scripts/fuzz builds it with -sanitize=fuzzer and -DFUZZING for libFuzzer.
        .executableTarget(name: "ccb-fuzz", dependencies: ["BridgeCore", "BridgeAgent"]),
        // A stand-in for Claude Code's stream-json mode (NOT Claude Code): scripted replies in the
        // documented shapes, for the tests and the demo on machines with no Claude.
        .executableTarget(name: "ccb-claude-standin", dependencies: ["BridgeCore"], path: "Tests/Fixtures/ClaudeStandin"),
        .testTarget(name: "BridgeCoreTests", dependencies: ["BridgeCore"]),
        .testTarget(name: "BridgeTUITests", dependencies: ["BridgeTUI", "BridgeCore"]),
        .testTarget(name: "BridgeAgentTests", dependencies: ["BridgeAgent", "BridgeCore"]),
        .testTarget(name: "BridgeHTTPTests", dependencies: ["BridgeHTTP", "BridgeCore"]),
        // Runs the real binaries (cc-bridge-tui, cc-bridge-agent) against real FIFOs and, for the
        // screen, inside a private tmux server.
        .testTarget(name: "EndToEndTests", dependencies: ["BridgeCore"]),
    ]
)
