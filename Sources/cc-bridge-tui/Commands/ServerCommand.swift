// `cc-bridge-tui server status|stop`: the server for the configured pipe directory, asked over its
// socket. status: whether one runs, its pid, socket, uptime, instances and clients (exit 0
// running, 1 not). stop: a clean shutdown (clients told, history synced, pid file and socket
// removed), asked over the socket (SIGTERM to the pid when the socket does not answer), waiting
// until it is gone, bounded by --timeout (exit 0 stopped, 1 none ran or it did not stop in time).
// When none runs for this pipe directory, both name the servers that run for others.

import ArgumentParser
import BridgeCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

struct ServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server", abstract: "Ask about or stop the server (see `serve`).",
        subcommands: [ServerStatusCommand.self, ServerStopCommand.self])
}

struct ServerStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Is a server running? Its pid, socket, uptime.")

    @OptionGroup var options: CommonOptions

    func run() throws {
        let config = try options.loadConfig()
        let paths = ServerLocation.paths(for: config)
        let probe = ServerLock.probe(paths)
        guard probe.running else {
            var line = "no server runs for \(config.pipeDirectory)"
            if let stale = probe.record { line += " (a stale pid file names process \(stale.pid): \(paths.pidPath))" }
            print(line + ServerText.othersRunning(paths, to: "ask about it"))
            throw ExitCode(1)
        }
        let record = probe.record
        let endpoint = IPCEndpoint(pipeDirectory: config.pipeDirectory)
        let answer = ServerClient.call("server.status", endpoint: endpoint, paths: paths, timeout: 5)
        print("server running for \(config.pipeDirectory)")
        let pid = answer.success?["pid"]?.intValue.map(String.init) ?? record.map { String($0.pid) }
        print("  pid      \(pid ?? "unknown (no pid file yet)")")
        print("  socket   \(answer.success?["socket"]?.stringValue ?? record?.socket ?? paths.socketPath)")
        if let started = answer.success?["started"]?.doubleValue ?? record?.started {
            print("  uptime   \(ServerText.duration(Date().timeIntervalSince1970 - started)) (since \(HealthText.timestamp(started)))")
        }
        switch answer {
        case .success(let status):
            print("  instances \(status["instances"]?.intValue ?? 0)")
            print("  clients  \(status["clients"]?.intValue ?? 0) (this one included)")
        case .failure(let error):
            print("  socket not answering: \(error)")
        }
        print("  log      \(paths.logPath)")
        if case .failure(let error) = answer {
            // Running but unreachable: clients cannot use it; say why and what to do.
            let advice = ServerClient.socketAdvice(endpoint, pid: record?.pid)
                ?? "the server does not answer on its socket (\(error)); `cc-bridge-tui server stop` and start it again"
            FileHandle.standardErrorWrite("cc-bridge-tui: " + advice)
            throw ExitCode(1)
        }
    }
}

struct ServerStopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the server cleanly and wait until it is gone.")

    @OptionGroup var options: CommonOptions
    @Option(help: "Seconds to wait for it to stop.") var timeout: Double = 10

    func run() throws {
        let config = try options.loadConfig()
        let paths = ServerLocation.paths(for: config)
        let probe = ServerLock.probe(paths)
        guard probe.running else {
            print("no server runs for \(config.pipeDirectory)" + ServerText.othersRunning(paths, to: "stop it"))
            throw ExitCode(1)
        }
        let endpoint = IPCEndpoint(pipeDirectory: config.pipeDirectory)
        let asked = IPCClient.call("server.stop", endpoint: endpoint, timeout: min(timeout, 5))
        let pid = probe.record?.pid
        // A server that closes the connection as it stops, before its answer left, was asked too.
        if case .failure(let error) = asked, error.code != .disconnected {
            // The socket does not answer (removed, or the server is stuck): the signal does the same.
            guard let pid, kill(pid, SIGTERM) == 0 else {
                FileHandle.standardErrorWrite("cc-bridge-tui: the server's socket does not answer (\(error)) and no usable pid file "
                    + "names it (\(paths.pidPath))")
                throw ExitCode(1)
            }
            FileHandle.standardErrorWrite("cc-bridge-tui: the server's socket does not answer (\(error)); sent SIGTERM to pid \(pid)")
        }
        let deadline = Date().addingTimeInterval(timeout)
        while ServerLock.probe(paths).running && Date() < deadline { usleep(20_000) }
        if ServerLock.probe(paths).running {
            FileHandle.standardErrorWrite("cc-bridge-tui: the server (pid \(pid.map(String.init) ?? "?")) did not stop within \(timeout) s")
            throw ExitCode(1)
        }
        print("server stopped (pid \(pid.map(String.init) ?? "?"))")
    }
}

extension Result {
    var success: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}

enum ServerText {
    /// After "no server runs for DIR": the servers that do run for other pipe directories and how
    /// to reach one (a server runs per pipe directory; `server stop` without `--pipe-dir` asks
    /// about the config's), or nothing when none runs.
    static func othersRunning(_ paths: ServerPaths, to purpose: String) -> String {
        let others = ServerLock.running(in: paths.directory).filter { $0.key != paths.key }
        guard !others.isEmpty else { return "" }
        let named = others.map { server -> String in
            guard let record = server.record else { return "a server holding \(server.lockPath) (no pid file yet)" }
            return "\(record.pipeDirectory ?? "an unknown pipe directory") (pid \(record.pid))"
        }
        let only = others.count == 1 ? others[0].record?.pipeDirectory : nil
        return "\n" + (others.count == 1 ? "one runs for " : "servers run for ") + named.joined(separator: ", ")
            + ": add --pipe-dir " + (only ?? "DIR") + " to \(purpose)"
    }

    /// "3d 4h", "2h 5m", "4m 10s", "12s".
    static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        if s >= 86400 { return "\(s / 86400)d \(s % 86400 / 3600)h" }
        if s >= 3600 { return "\(s / 3600)h \(s % 3600 / 60)m" }
        if s >= 60 { return "\(s / 60)m \(s % 60)s" }
        return "\(s)s"
    }
}
