// `cc-bridge-tui demo`: the whole thing working on a machine with no Docker and no Claude.
// Starts N scripted reference agents in a private pipe directory and a server of its own for it
// (DemoServer), opens the TUI on them through that server (in this process with --no-server), and
// on every way out (q, Ctrl-C, SIGTERM, SIGHUP) stops the server and every agent and removes the
// directory.

import ArgumentParser
import BridgeCore
import BridgeTUI
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Open the TUI on scripted demo agents (no Docker, no Claude needed).")

    @Option(help: "Number of demo instances (chatty, slow, crashy, demo-4, ...).") var instances = 3
    @Flag(name: .customLong("no-tui"), help: "Only start the agents, print how to reach them, and wait for Ctrl-C.")
    var noTUI = false
    @OptionGroup var ui: UIOptions

    func validate() throws {
        guard (1...50).contains(instances) else { throw ValidationError("--instances must be between 1 and 50") }
    }

    func run() throws {
        let demo: DemoAgents
        do {
            demo = try DemoAgents.start(count: instances)
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui demo: \(error)")
            throw ExitCode(1)
        }
        defer { demo.stop() }
        if noTUI {
            demo.greet()
            print("demo agents are running in \(demo.directory):")
            for agent in demo.agents { print("  \(agent.name) (\(agent.kind), pid \(agent.pid))") }
            print("try:  cc-bridge-tui --pipe-dir \(demo.directory)")
            print("      cc-bridge-tui send chatty hello --pipe-dir \(demo.directory)")
            print("Ctrl-C stops them and removes the directory.")
            demo.waitForTerminationSignal()
            return
        }
        let config = try CommonOptions.loadConfig(path: nil, pipeDir: demo.directory, quiet: true)
        let managed = Set(demo.agents.map(\.name))
        let environment = ProcessInfo.processInfo.environment
        // Saved panes go where the user's own go: the demo's private state is removed at its end.
        let exports = StatePaths.directory(environment: environment) + "/exports"
        let optedOut = !(environment["CC_BRIDGE_NO_SERVER"] ?? "").isEmpty && environment["CC_BRIDGE_NO_SERVER"] != "0"
        if ui.noServer || optedOut {
            demo.greet()
            // In this process, with a private state directory: every demo starts with a fresh conversation.
            try TUILauncher.run(config: config, policy: .strict, ui: ui, attach: nil,
                                stateDirectory: demo.directory + "/.state", exportDirectory: exports, managed: managed)
            return
        }
        // As users run it: through a server, the demo's own (private state and socket), which
        // `demo.stop()` ends on every way out.
        let server: DemoServer
        do {
            server = try DemoServer.start(config: config, directory: demo.directory, managed: managed)
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui demo: \(error)")
            throw ExitCode(1)
        }
        demo.server = server
        // Through the server, so the greeting is a turn like any other: in the history, and
        // shown in the pane as its ❯ line before the reply.
        demo.greet(through: server.connection.endpoint)
        try TUILauncher.run(config: config, policy: .strict, ui: ui, attach: nil, exportDirectory: exports, managed: managed,
                            server: { server.connection })
    }
}

/// The demo's agents and their private directory.
final class DemoAgents {
    struct Agent {
        var name: String
        var kind: String
        var pid: pid_t
    }

    let directory: String
    private(set) var agents: [Agent] = []
    /// The demo's server, stopped before the agents.
    var server: DemoServer?
    private var stopped = false
    /// The running demo, stopped by an atexit hook too, should anything call exit() past our defer.
    nonisolated(unsafe) private static var active: DemoAgents?

    private init(directory: String) {
        self.directory = directory
        DemoAgents.active = self
        atexit { DemoAgents.active?.stop() }
    }

    /// Personalities: (name, script, protocol, supervised).
    static func plan(count: Int) -> [(name: String, script: String, proto: String, supervised: Bool)] {
        var plan: [(String, String, String, Bool)] = [
            ("chatty", "chatty", "jsonl", false), ("slow", "slow", "plain", false), ("crashy", "crashy", "jsonl", true),
        ]
        if count > 3 {
            for n in 4...count { plan.append(("demo-\(n)", n % 2 == 0 ? "chatty" : "slow", n % 2 == 0 ? "jsonl" : "plain", false)) }
        }
        return Array(plan.prefix(count))
    }

    static func start(count: Int) throws -> DemoAgents {
        guard let agentPath = siblingExecutable("cc-bridge-agent") else {
            throw DemoError("cc-bridge-agent was not found next to cc-bridge-tui; build it with `swift build`")
        }
        var template = Array((NSTemporaryDirectory() + "ccb-demo-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw DemoError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let demo = DemoAgents(directory: String(cString: made))
        do {
            for entry in plan(count: count) {
                var arguments = ["serve", "--name", entry.name, "--pipe-dir", demo.directory,
                                 "--protocol", entry.proto, "--script", entry.script]
                if entry.supervised { arguments = ["supervise", "--"] + arguments }
                let pid = try spawn(agentPath, arguments, log: demo.directory + "/.\(entry.name).log")
                demo.agents.append(Agent(name: entry.name, kind: entry.script + (entry.supervised ? ", supervised" : ""), pid: pid))
            }
            // Claude's stream-json mode against the scripted stand-in (built with the package, not
            // installed with a release): tool calls, costs and an approval with no Claude.
            if let standin = siblingExecutable("ccb-claude-standin") {
                let arguments = ["serve", "--name", claudeDemo, "--pipe-dir", demo.directory, "--protocol", "jsonl",
                                 "--claude", "--claude-command", standin]
                let pid = try spawn(agentPath, arguments, log: demo.directory + "/.\(claudeDemo).log")
                demo.agents.append(Agent(name: claudeDemo, kind: "Claude stream-json mode against ccb-claude-standin", pid: pid))
            }
            try demo.waitForPipes(timeout: 10)
        } catch {
            demo.stop()
            throw error
        }
        return demo
    }

    /// The instance that runs the agent's Claude mode against the stand-in.
    static let claudeDemo = "claude-demo"

    /// A first prompt for each agent, so there is something on screen at once; the Claude
    /// stand-in's `tools` script runs two tools, each asking for approval first. Through the
    /// demo's server when there is one (the prompt is then recorded and shown like a typed one),
    /// else written into the in-FIFO (`--no-server`, `--no-tui`: nothing reads it yet).
    func greet(through server: IPCEndpoint? = nil) {
        let writer = PromptWriter()
        for agent in agents {
            guard let name = try? InstanceName(validating: agent.name) else { continue }
            let prompt = agent.name == Self.claudeDemo ? "tools" : "hello \(agent.name)"
            if let server, case .success = IPCClient.call("send", params: ["instance": .string(agent.name), "text": .string(prompt)],
                                                           endpoint: server, timeout: 5) {
                continue
            }
            _ = writer.send(PlainPrompt.line(for: prompt).bytes, to: name.inFifoPath(in: directory), timeout: 2)
        }
    }

    private func waitForPipes(timeout: Double) throws {
        let deadline = MonotonicClock.now() + timeout
        while true {
            let ready = Set(InstanceScanner.scan(directory).instances.filter(\.isReady).map(\.name))
            if agents.allSatisfy({ ready.contains($0.name) }) { return }
            for agent in agents where kill(agent.pid, 0) != 0 {
                throw DemoError("the \(agent.name) agent exited at start; see \(directory)/.\(agent.name).log")
            }
            if MonotonicClock.now() > deadline { throw DemoError("the demo agents did not create their pipes in time") }
            usleep(10_000)
        }
    }

    /// Blocks until SIGINT, SIGTERM or SIGHUP (the --no-tui mode).
    func waitForTerminationSignal() {
        SignalPipe.route([SIGINT, SIGTERM, SIGHUP])
        var pfd = pollfd(fd: SignalPipe.open(), events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, -1) < 0 && errno == EINTR {}
        _ = SignalPipe.drain()
    }

    /// The server first (DemoServer.stop), then SIGTERM to every agent, SIGKILL to what is left after 1.5 s, then the directory goes.
    func stop() {
        guard !stopped else { return }
        stopped = true
        server?.stop()
        for agent in agents { kill(agent.pid, SIGTERM) }
        let deadline = MonotonicClock.now() + 1.5
        var running = Set(agents.map(\.pid))
        while !running.isEmpty && MonotonicClock.now() < deadline {
            for pid in running {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) != 0 { running.remove(pid) }
            }
            if !running.isEmpty { usleep(10_000) }
        }
        for pid in running {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func siblingExecutable(_ name: String) -> String? {
        guard let exe = TUILauncher.executablePath() else { return nil }
        let path = (exe as NSString).deletingLastPathComponent + "/" + name
        return FileManager.default.isExecutableFile(atPath: path) ? path : nil
    }

    /// posix_spawn with stdin from /dev/null and output to a log file in the demo directory.
    static func spawn(_ path: String, _ arguments: [String], log: String) throws -> pid_t {
        do {
            return try DetachedChild.spawn(executable: path, arguments: arguments, logPath: log, newSession: false,
                                           answerPipe: false).pid
        } catch {
            throw DemoError(error.description)
        }
    }
}

struct DemoError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
