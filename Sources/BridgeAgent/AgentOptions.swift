// AgentOptions: everything `cc-bridge-agent serve` was told on its command line, as plain values.
// The executable parses arguments into this; the library never looks at argv.

import BridgeCore

/// Which wire protocol the agent speaks on its FIFOs.
public enum WireProtocol: String, Sendable, CaseIterable {
    /// Upstream-compatible: lines in, raw bytes out, `❯ ` after each reply.
    case plain
    /// `ccb-jsonl/1`: one JSON object per line in both directions.
    case jsonl
}

/// How replies are produced.
public enum ReplyMode: Sendable, Equatable {
    /// Run the command once per prompt, the prompt as its last argument.
    case exec(command: [String])
    /// Keep one child; write each prompt line to its stdin.
    case persistent(command: [String])
    /// Reply with the prompt itself.
    case echo
    /// Replay a script (see `Script`).
    case script(Script)
    /// Keep one Claude Code in stream-json mode (ClaudeEngine).
    case claude(ClaudeOptions)
}

/// `--claude`: how Claude Code is started and watched.
public struct ClaudeOptions: Sendable, Equatable {
    /// The program (looked up in PATH): `claude`, or a stand-in.
    public var command: String = "claude"
    /// Passed through after the agent's own flags (everything after `--`).
    public var extraArguments: [String] = []
    /// Seconds of silence during a turn before it is reported as stalled (and again after each
    /// further period).
    public var stallAfter: Double = 120
    /// Bytes a line of Claude's output may have; a longer one is reported, not kept.
    public var maxLineBytes = ClaudeLineSplitter.defaultMaxLineBytes

    public init() {}

    /// The flags the agent always gives: persistent stream-json in and out, permission requests
    /// on the control channel (docs/protocol.md cites where each is documented).
    public static let fixedArguments = ["--input-format", "stream-json", "--output-format", "stream-json",
                                        "--verbose", "--permission-prompt-tool", "stdio"]

    /// The command line, resuming `resume` when given.
    public func argv(resume: String?) -> [String] {
        [command] + ClaudeOptions.fixedArguments + (resume.map { ["--resume", $0] } ?? []) + extraArguments
    }
}

public struct AgentOptions: Sendable {
    public var name: InstanceName
    public var pipeDirectory: String
    public var wire: WireProtocol
    public var mode: ReplyMode
    /// Seconds between heartbeats while a reader is attached (jsonl only). 0 disables them.
    public var heartbeatInterval: Double = 5
    /// Bytes kept for the out-FIFO while no reader is attached; the oldest are dropped beyond it.
    public var bufferLimit: Int = 8 << 20
    /// Persistent mode with jsonl: seconds of child silence that end the current turn when no
    /// `❯` marker was seen.
    public var turnQuietPeriod: Double = 3
    /// How often to try opening the out-FIFO while no reader is attached, in milliseconds.
    public var attachIntervalMs: Int32 = 25
    public var allowUnsafePipes = false
    /// Interrupt escalation: seconds from SIGINT to SIGTERM and from SIGTERM to SIGKILL.
    public var escalation = InterruptEscalation()
    /// Seconds between checks that the FIFOs and the lock file are still the ones at their paths.
    public var pipeCheckInterval = 0.5

    public init(name: InstanceName, pipeDirectory: String, wire: WireProtocol, mode: ReplyMode) {
        self.name = name
        self.pipeDirectory = pipeDirectory
        self.wire = wire
        self.mode = mode
    }

    public var inFifoPath: String { name.inFifoPath(in: pipeDirectory) }
    public var outFifoPath: String { name.outFifoPath(in: pipeDirectory) }
    public var lockPath: String { InstanceLock.path(for: name, in: pipeDirectory) }
}
