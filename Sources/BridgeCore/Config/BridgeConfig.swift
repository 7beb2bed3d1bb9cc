// BridgeConfig: the settings cc-bridge-tui reads from cc-bridge's own config.yaml.
// The `docker:` keys and defaults are cc-bridge's; the `tui:` section is ours.

import Foundation

public struct BridgeConfig: Sendable, Equatable {
    public var projectName = "cc-bridge"
    public var docker = DockerSettings()
    public var tui = TUISettings()
    public var server = ServerSettings()
    /// The file the values came from; nil when defaults were used because no file exists.
    public var sourcePath: String?
    /// Unknown keys and other non-fatal findings, each as `file:line: key: message`.
    public var warnings: [String] = []

    public init() {}

    /// `docker.pipe_dir` with `~` and `${PROJECT_NAME}` expanded.
    public var pipeDirectory: String {
        PathExpansion.expand(docker.pipeDir, projectName: projectName)
    }
}

public struct DockerSettings: Sendable, Equatable {
    public var communicationMode = "fifo"
    public var pipeDir = "/tmp/cc-bridge/pipes"
    public var session = SessionSettings()
    public var health = HealthSettings()
    public init() {}
}

public struct SessionSettings: Sendable, Equatable {
    /// Seconds without activity after which a session counts as idle.
    public var idleTimeout: Double = 300
    /// Seconds after which an unanswered turn fails.
    public var requestTimeout: Double = 120
    /// Turns kept per instance.
    public var maxHistory = 100
    /// Plain protocol only: seconds of silence that end a reply when no `❯` marker came.
    public var quietPeriod: Double = 3
    public init() {}
}

public struct HealthSettings: Sendable, Equatable {
    public var enabled = true
    public var checkInterval: Double = 30
    public var maxConsecutiveFailures = 3
    public var recoveryDelay: Double = 5
    public init() {}
}

public struct TUISettings: Sendable, Equatable {
    /// Theme name (a file in themes/) or a path to a .theme file.
    public var theme = "default"
    public var scrollbackLines = 50_000
    public var scrollbackBytes = 16 << 20
    /// All instances' scrollback together (see ScrollbackBudget): each gets an equal share, at
    /// most `scrollbackBytes`, at least 256 KiB.
    public var scrollbackTotalBytes = 64 << 20
    /// An unterminated line longer than this is cut and continues on a new line.
    public var maxLineBytes = 64 << 10
    public var mouse = true
    public var wrap = true
    public var timestamps = false
    /// Seconds an instance whose pipes vanished is listed as gone before it is removed.
    public var goneGraceSeconds = 30.0
    /// Key overrides: action name -> key names (for example `quit: ["q", "ctrl-q"]`).
    public var keys: [String: [String]] = [:]
    /// Actions that ask y/n before they act (`tui.confirm`); nil: the defaults (interrupt,
    /// resend_turn, quit while busy).
    public var confirm: [String]?
    /// How the TUI tells you a turn ended out of view, an approval waits or an instance fails.
    public var notify = NotifyMode.bell
    public init() {}
}

/// `tui.notify`: the terminal bell, a desktop notification through OSC 9 (iTerm2, WezTerm,
/// kitty, foot) or OSC 777 (rxvt, VTE/GNOME Terminal), or nothing.
public enum NotifyMode: String, Sendable, Equatable, CaseIterable {
    case bell, osc9, osc777, off
}

public enum PathExpansion {
    /// Expands a leading `~` and every `${PROJECT_NAME}`.
    public static func expand(_ path: String, projectName: String, home: String? = nil) -> String {
        var result = path.replacingOccurrences(of: "${PROJECT_NAME}", with: projectName)
        if result == "~" || result.hasPrefix("~/") {
            let homeDir = home ?? ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
            result = homeDir + result.dropFirst()
        }
        return result
    }
}
