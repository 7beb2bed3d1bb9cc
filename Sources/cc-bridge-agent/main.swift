// cc-bridge-agent: the reference container agent for cc-bridge's FIFO mode.
//   cc-bridge-agent serve --name NAME [--pipe-dir DIR] [--protocol plain|jsonl] MODE
//   cc-bridge-agent serve --name NAME --protocol jsonl --claude [--claude-command PATH] [--stall-after S] [-- CLAUDE ARGS…]
//   cc-bridge-agent supervise [--max-restarts N] -- serve …
//   cc-bridge-agent show-script chatty|slow|crashy
// Argument parsing only; the agent itself is the BridgeAgent library (AgentLoop).

import ArgumentParser
import BridgeAgent
import BridgeCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func logLine(_ prefix: String) -> (String) -> Void {
    { message in
        var line = prefix + message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }
}

struct CCBridgeAgent: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cc-bridge-agent",
        abstract: "Reference container agent for cc-bridge's FIFO mode.",
        subcommands: [Serve.self, Supervise.self, ShowScript.self]
    )
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve one instance's FIFOs: <pipe-dir>/<name>.in.fifo and <name>.out.fifo.",
        discussion: "Give exactly one of --exec, --persistent, --echo, --script, --claude. See docs/protocol.md."
    )

    @Option(help: "Instance name (the FIFO file names).")
    var name: String

    @Option(name: .customLong("pipe-dir"), help: "Directory of the FIFOs (~ is expanded).")
    var pipeDir = "/tmp/cc-bridge/pipes"

    @Option(name: .customLong("protocol"), help: "plain (upstream-compatible) or jsonl (ccb-jsonl/1).")
    var wire = "plain"

    @Option(help: ArgumentHelp("Run CMD once per prompt, the prompt as its last argument.", valueName: "CMD"))
    var exec: String?

    @Option(help: ArgumentHelp("Keep one child; write each prompt line to its stdin.", valueName: "CMD"))
    var persistent: String?

    @Flag(help: "Reply with the prompt.")
    var echo = false

    @Option(help: ArgumentHelp("Replay a reply script: a file, or chatty | slow | crashy.", valueName: "FILE"))
    var script: String?

    @Flag(help: "Keep one Claude Code in stream-json mode (needs --protocol jsonl); arguments after -- go to it.")
    var claude = false

    @Option(name: .customLong("claude-command"), help: ArgumentHelp("--claude: the program to run (PATH is searched).", valueName: "PATH"))
    var claudeCommand = "claude"

    @Option(name: .customLong("stall-after"), help: "--claude: seconds of silence during a turn before it is reported as stalled.")
    var stallAfter: Double = 120

    @Argument(parsing: .postTerminator, help: "--claude: more arguments for Claude Code, after --.")
    var claudeArguments: [String] = []

    @Option(help: "Seconds between heartbeats while a reader is attached (jsonl; 0 = none).")
    var heartbeat: Double = 5

    @Option(name: .customLong("buffer-limit"), help: "Bytes of output kept while no reader is attached.")
    var bufferLimit: Int = 8 << 20

    @Option(name: .customLong("turn-quiet"), help: "--persistent with jsonl: seconds of silence that end a turn.")
    var turnQuiet: Double = 3

    @Option(name: .customLong("interrupt-grace"), help: "Seconds an interrupted reply may ignore SIGINT before SIGTERM.")
    var interruptGrace: Double = 2

    @Option(name: .customLong("term-grace"), help: "Seconds it may then ignore SIGTERM before SIGKILL.")
    var termGrace: Double = 2

    @Flag(name: .customLong("allow-unsafe-pipes"), help: "Accept FIFOs writable by others (mode 0666).")
    var allowUnsafePipes = false

    func validate() throws {
        let modes = [exec != nil, persistent != nil, echo, script != nil, claude].filter { $0 }.count
        guard modes == 1 else {
            throw ValidationError("give exactly one of --exec, --persistent, --echo, --script, --claude")
        }
        guard WireProtocol(rawValue: wire) != nil else {
            throw ValidationError("--protocol must be plain or jsonl")
        }
        if claude {
            guard wire == "jsonl" else { throw ValidationError("--claude needs --protocol jsonl (its frames have no plain form)") }
            guard !claudeCommand.isEmpty else { throw ValidationError("--claude-command must not be empty") }
            guard stallAfter > 0, stallAfter <= 86_400 else {
                throw ValidationError("--stall-after must be between 0 and 86400 seconds, not \(stallAfter)")
            }
        } else if !claudeArguments.isEmpty {
            throw ValidationError("arguments after -- are for --claude only: \(claudeArguments.joined(separator: " "))")
        }
        if let problem = InstanceName.problem(in: name) { throw ValidationError("--name: \(problem)") }
        guard bufferLimit > 0 else { throw ValidationError("--buffer-limit must be positive") }
        guard heartbeat >= 0, turnQuiet > 0 else { throw ValidationError("--heartbeat and --turn-quiet must not be negative") }
        for (option, value) in [("--interrupt-grace", interruptGrace), ("--term-grace", termGrace)] where !(value >= 0 && value <= 3600) {
            throw ValidationError("\(option) must be between 0 and 3600 seconds, not \(value)")
        }
    }

    func run() throws {
        let mode: ReplyMode
        do {
            if let exec {
                mode = .exec(command: try CommandSplitter.split(exec))
            } else if let persistent {
                mode = .persistent(command: try CommandSplitter.split(persistent))
            } else if let script {
                mode = .script(try Script.parse(try loadScript(script)))
            } else if claude {
                var claudeOptions = ClaudeOptions()
                claudeOptions.command = claudeCommand
                claudeOptions.extraArguments = claudeArguments
                claudeOptions.stallAfter = stallAfter
                mode = .claude(claudeOptions)
            } else {
                mode = .echo
            }
        } catch let error as CommandSplitter.Failure {
            throw ValidationError(error.description)
        } catch let error as Script.ParseError {
            throw ValidationError("--script \(script ?? ""): \(error)")
        }
        let instance = try InstanceName(validating: name)
        var options = AgentOptions(
            name: instance,
            pipeDirectory: PathExpansion.expand(pipeDir, projectName: "cc-bridge"),
            wire: WireProtocol(rawValue: wire) ?? .plain,
            mode: mode
        )
        options.heartbeatInterval = heartbeat
        options.bufferLimit = bufferLimit
        options.turnQuietPeriod = turnQuiet
        options.allowUnsafePipes = allowUnsafePipes
        options.escalation = InterruptEscalation(interruptGrace: interruptGrace, termGrace: termGrace)
        let agent = AgentLoop(options: options)
        agent.log = logLine("cc-bridge-agent[\(getpid())]: ")
        let code: Int32
        do {
            code = try agent.run()
        } catch {
            logLine("cc-bridge-agent: ")(error.description)
            if case .lock(.held) = error { throw ExitCode(AgentLoop.lockHeldExitCode) }
            throw ExitCode(2)
        }
        if code != 0 { throw ExitCode(code) }
    }

    func loadScript(_ argument: String) throws -> String {
        if !argument.contains("/"), FifoSafety.inspect(argument) == .missing, let text = DemoScripts.all[argument] {
            return text
        }
        guard let file = fopen(argument, "r") else {
            throw ValidationError("--script \(argument): \(SystemError("open", path: argument)); built-in scripts: \(DemoScripts.all.keys.sorted().joined(separator: ", "))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[..<n]
            if bytes.count > 4 << 20 { throw ValidationError("--script \(argument): larger than 4 MiB") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct Supervise: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run `cc-bridge-agent ARGS…` and run it again whenever it crashes.",
        discussion: "Example: cc-bridge-agent supervise -- serve --name crashy --script crashy"
    )

    @Option(name: .customLong("max-restarts"), help: "Restarts in a row before giving up (default: never give up).")
    var maxRestarts: Int?

    @Argument(parsing: .postTerminator, help: "The agent's arguments, after --.")
    var arguments: [String] = []

    func validate() throws {
        guard !arguments.isEmpty else { throw ValidationError("give the agent's arguments after --, e.g. -- serve --name x --echo") }
    }

    func run() throws {
        let executable = Supervisor.currentExecutable(fallback: CommandLine.arguments[0])
        let supervisor = Supervisor(options: SupervisorOptions(executable: executable, arguments: arguments, maxRestarts: maxRestarts))
        supervisor.log = logLine("cc-bridge-agent supervise[\(getpid())]: ")
        let code = try supervisor.run()
        if code != 0 { throw ExitCode(code) }
    }
}

struct ShowScript: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show-script",
        abstract: "Print a built-in reply script (chatty, slow, crashy)."
    )

    @Argument(help: "chatty, slow or crashy")
    var name: String

    func run() throws {
        guard let text = DemoScripts.all[name] else {
            throw ValidationError("no built-in script '\(name)'; there are \(DemoScripts.all.keys.sorted().joined(separator: ", "))")
        }
        print(text)
    }
}

// Started with stdin, stdout or stderr closed, the first pipe or FIFO would take its number and
// a log line or a child's stdin would land in it: hold each closed one with /dev/null.
for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 {
    _ = open("/dev/null", O_RDWR)
}

CCBridgeAgent.main()
