// `cc-bridge-tui dial-stdio`: joins standard input and output to this user's server for the pipe
// directory, starting the server first when none runs (as `serve` does: detached, and it stays
// after we leave). It is what `--host` runs on the remote end over ssh, like `docker system
// dial-stdio`: no port is opened anywhere, ssh carries the bytes. Standard output carries only
// the protocol; everything said goes to standard error. Exits when either side closes.

import ArgumentParser
import BridgeCore
import Foundation

struct DialStdioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dial-stdio",
        abstract: "Join standard input and output to this user's server (what --host runs over ssh).",
        discussion: "Starts the server for the pipe directory when none runs. See docs/remote.md.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Seconds to wait for a server to start.") var startTimeout: Double = 20

    func run() throws {
        let config = try options.loadConfig(quiet: true)
        if ServerClient.running(config) == nil { try startServer(config) }
        let endpoint = IPCEndpoint(pipeDirectory: config.pipeDirectory)
        waitUntilListening(config, endpoint: endpoint)
        do {
            try IPCStdioBridge.run(endpoint: endpoint)
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: dial-stdio: \(error)")
            throw ExitCode(1)
        }
    }

    /// A server another client started a moment ago holds its lock before it listens: wait
    /// (bounded) until it has written its pid file, which it does once its socket listens, so
    /// two ssh sessions arriving together both get through (the second one failed: "server
    /// socket directory: No such file or directory").
    private func waitUntilListening(_ config: BridgeConfig, endpoint: IPCEndpoint) {
        let paths = ServerLocation.paths(for: config)
        let deadline = MonotonicClock.now() + startTimeout
        while MonotonicClock.now() < deadline {
            let probe = ServerLock.probe(paths)
            guard probe.running else { return }
            if let record = probe.record, kill(record.pid, 0) == 0, FileManager.default.fileExists(atPath: endpoint.socketPath) {
                return
            }
            usleep(50_000)
        }
    }

    /// Runs `serve` (which detaches the server and returns once it is ready). Its words go to
    /// our standard error, never to standard output (the protocol's).
    private func startServer(_ config: BridgeConfig) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TUILauncher.executablePath() ?? CommandLine.arguments[0])
        var arguments = ["serve", "--pipe-dir", config.pipeDirectory, "--start-timeout", String(startTimeout)]
        if let path = options.config { arguments += ["--config", path] }
        if options.allowUnsafePipes { arguments.append("--allow-unsafe-pipes") }
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.standardError
        do {
            try process.run()
        } catch {
            FileHandle.standardErrorWrite("cc-bridge-tui: dial-stdio: cannot start the server: \(error)")
            throw ExitCode(1)
        }
        process.waitUntilExit()
        // Exit 1 may mean another dial-stdio started it a moment before us: fine if one runs now.
        if process.terminationStatus != 0 && ServerClient.running(config) == nil {
            FileHandle.standardErrorWrite("cc-bridge-tui: dial-stdio: no server runs for \(config.pipeDirectory) and starting one failed")
            throw ExitCode(1)
        }
    }
}
