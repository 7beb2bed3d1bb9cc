// `cc-bridge-tui serve`: the server for one pipe directory (ServerDaemon). With --foreground it
// runs in this process (for service managers); otherwise it starts itself again detached (a new
// session, standard input /dev/null, output to the log under the state directory) and returns
// once that server is ready, or says why it is not. One server per user and pipe directory: a
// second start exits 1 naming the running server's pid and socket.

import ArgumentParser
import BridgeCore
import BridgeHTTP
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server: the one reader of every out-FIFO and writer of history, for clients.",
        discussion: "Without --foreground it detaches and logs to the state directory (see docs/server.md).")

    @OptionGroup var options: CommonOptions
    @Flag(help: "Stay in the foreground, logging to standard error (for systemd and other service managers).")
    var foreground = false
    @Option(help: "Seconds to wait for the detached server to be ready.") var startTimeout: Double = 20
    @Option(help: .hidden) var readyFd: Int32?
    /// Instances whose FIFOs health recovery may recreate (the demo passes the agents it started).
    @Option(help: .hidden) var managed: [String] = []

    func run() throws {
        // Started detached by `serve`: descriptors our starter's parent left open (a test
        // harness watching for our starter's end, a terminal's pipe) must not live on with us.
        if let readyFd { Self.closeInheritedDescriptors(keeping: readyFd) }
        let config = try options.loadConfig()
        let paths = ServerLocation.paths(for: config)
        if foreground {
            var core = ServerCore.Options(config: config, stateDirectory: StatePaths.directory())
            core.policy = options.policy
            core.managed = Set(managed)
            core.configPath = config.sourcePath ?? ConfigLoader.locate(override: options.config).path
            let endpoint = IPCEndpoint(pipeDirectory: config.pipeDirectory)
            var daemonOptions = ServerDaemon.Options(core: core, paths: paths, endpoint: endpoint, readyFD: readyFd)
            if config.server.http.enabled {
                daemonOptions.services.append(HTTPInput(settings: config.server.http, maxPromptBytes: config.server.maxPromptBytes,
                                                        log: ServerDaemon.log))
            }
            let daemon = ServerDaemon(options: daemonOptions)
            if !AllocatorTuning.applyForStreaming() {
                ServerDaemon.log("malloc thresholds not set (mallopt refused them): a flood costs more page faults")
            }
            do {
                try daemon.run()
            } catch {
                FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
                throw ExitCode(1)
            }
            return
        }
        try detach(config: config, paths: paths)
    }

    /// Closes every descriptor above 2 that came through exec (not close-on-exec), but `keep`.
    static func closeInheritedDescriptors(keeping keep: Int32) {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in entries.compactMap({ Int32($0) }) where fd > 2 && fd != keep {
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 && flags & FD_CLOEXEC == 0 { close(fd) }
        }
    }

    /// Starts the server detached and says where it is, or why it did not start.
    private func detach(config: BridgeConfig, paths: ServerPaths) throws {
        switch ServerStarter.start(config: config, paths: paths, configPath: options.config,
                                   allowUnsafePipes: options.allowUnsafePipes, timeout: startTimeout) {
        case .success(let pid):
            print("server started for \(config.pipeDirectory): pid \(pid), socket \(paths.socketPath), log \(paths.logPath)")
        case .failure(let error):
            FileHandle.standardErrorWrite("cc-bridge-tui: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Starts `serve --foreground` in a new session with its output in the log, and waits for its
/// "ready" (or its error) on a pipe. Used by `serve` and by the TUI when no server runs.
enum ServerStarter {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func start(config: BridgeConfig, paths: ServerPaths, configPath: String?, allowUnsafePipes: Bool,
                      managed: Set<String> = [], timeout: Double = 20) -> Result<Int32, Failure> {
        do {
            try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            return .failure(Failure(description: "cannot create \(paths.directory): \(error.localizedDescription)"))
        }
        var arguments = ["serve", "--foreground", "--ready-fd", "3", "--pipe-dir", config.pipeDirectory]
        if let configPath { arguments += ["--config", configPath] }
        if allowUnsafePipes { arguments.append("--allow-unsafe-pipes") }
        for name in managed.sorted() { arguments += ["--managed", name] }
        let child: DetachedChild
        do {
            child = try DetachedChild.spawn(executable: TUILauncher.executablePath() ?? CommandLine.arguments[0], arguments: arguments, logPath: paths.logPath)
        } catch {
            return .failure(Failure(description: "cannot start the server: \(error)"))
        }
        let answer = child.readAnswer(timeout: timeout)
        if let line = answer.first(where: { $0.hasPrefix("ready") }) {
            return .success(line.split(separator: " ").dropFirst().first.flatMap { Int32($0) } ?? child.pid)
        }
        if let error = answer.first(where: { $0.hasPrefix("error: ") }) {
            return .failure(Failure(description: String(error.dropFirst("error: ".count))))
        } else if answer.isEmpty && child.isRunning {
            return .failure(Failure(description: "the server (pid \(child.pid)) was not ready within \(timeout) s; see \(paths.logPath)"))
        }
        return .failure(Failure(description: "the server exited before it was ready; see \(paths.logPath)"))
    }
}

/// Where the server for a config's pipe directory keeps its files.
enum ServerLocation {
    static func paths(for config: BridgeConfig, environment: [String: String] = ProcessInfo.processInfo.environment) -> ServerPaths {
        ServerPaths(pipeDirectory: config.pipeDirectory, stateDirectory: StatePaths.directory(environment: environment),
                    socketPath: socketPath(pipeDirectory: config.pipeDirectory, environment: environment))
    }

    static func socketPath(pipeDirectory: String, environment: [String: String]) -> String {
        IPCEndpoint(pipeDirectory: pipeDirectory, environment: environment).socketPath
    }
}
