// ServerTests: `cc-bridge-tui serve` and `server status|stop` as a user runs them, with a
// private state directory and XDG_RUNTIME_DIR: one server per pipe directory (a second start is
// refused naming the first one's pid); a pid file left by a dead server is replaced with a
// message; `server stop` stops it cleanly and removes its pid file; after a `kill -9` a new
// server starts.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A private home, state directory and runtime directory; kills any server it started.
final class ServerScratch {
    let scratch = Scratch()
    var pipes: String { scratch.file("pipes") }
    var state: String { scratch.file("state") }
    var runtime: String { scratch.file("run") }
    var environment: [String: String] {
        ["HOME": scratch.path, "XDG_STATE_HOME": state, "XDG_RUNTIME_DIR": runtime,
         "XDG_CONFIG_HOME": scratch.file("config"), "DOCKER_HOST": "unix://" + scratch.file("no-docker.sock")]
    }
    var serverDirectory: String { state + "/cc-bridge-tui/server" }
    /// Servers started (their pids), killed at the end whatever happened.
    var started: Set<pid_t> = []

    init() throws {
        try FileManager.default.createDirectory(atPath: pipes, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: runtime, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    deinit {
        if let pid = pidFileRecord { started.insert(pid) }
        for pid in started { kill(pid, SIGKILL) }
    }

    func tui(_ arguments: [String], timeout: Double = 30) throws -> Finished {
        try run(try Binaries.tui, arguments + ["--pipe-dir", pipes], timeout: timeout, environment: environment)
    }

    /// The one pid file in the server directory.
    var pidFile: String? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: serverDirectory)) ?? []
        return names.first { $0.hasSuffix(".pid") }.map { serverDirectory + "/" + $0 }
    }

    var pidFileRecord: pid_t? {
        guard let pidFile, let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    var logText: String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: serverDirectory)) ?? []
        return names.filter { $0.hasSuffix(".log") }
            .compactMap { try? String(contentsOfFile: serverDirectory + "/" + $0, encoding: .utf8) }.joined()
    }

    /// `serve` (detached); returns the server's pid from the pid file.
    func startServer() throws -> pid_t {
        let result = try tui(["serve"])
        #expect(result.status == 0, "serve failed: \(result.stderr)")
        guard let pid = pidFileRecord else { throw HarnessError("no pid file after serve: \(result.stdout) \(result.stderr)") }
        started.insert(pid)
        #expect(result.stdout.contains("pid \(pid)"), "serve printed: \(result.stdout)")
        return pid
    }

    static func alive(_ pid: pid_t) -> Bool {
        // A zombie (dead, not yet reaped by its new parent) counts as gone.
        guard kill(pid, 0) == 0 else { return false }
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }
}

@Suite(.serialized) struct ServerTests {
    @Test func aSecondServeIsRefusedNamingTheRunningServersPid() throws {
        let s = try ServerScratch()
        let pid = try s.startServer()
        let second = try s.tui(["serve"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("a server already runs for \(s.pipes): pid \(pid), socket "), "stderr: \(second.stderr)")
        let foreground = try s.tui(["serve", "--foreground"])
        #expect(foreground.status == 1)
        #expect(foreground.stderr.contains("pid \(pid)"), "stderr: \(foreground.stderr)")
        #expect(ServerScratch.alive(pid), "the running server must survive a second start")
        let status = try s.tui(["server", "status"])
        #expect(status.status == 0)
        #expect(status.stdout.contains("pid      \(pid)"), "status: \(status.stdout)")
    }

    @Test func serverStopStopsItCleanlyAndRemovesThePidFile() throws {
        let s = try ServerScratch()
        let pid = try s.startServer()
        let stopped = try s.tui(["server", "stop"])
        #expect(stopped.status == 0, "stop: \(stopped.stdout) \(stopped.stderr)")
        #expect(stopped.stdout.contains("server stopped (pid \(pid))"))
        #expect(!ServerScratch.alive(pid))
        #expect(s.pidFile == nil, "the pid file stays: \(s.pidFile ?? "")")
        #expect(s.logText.contains("stopping") && s.logText.contains("stopped"), "log: \(s.logText)")
        let status = try s.tui(["server", "status"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("no server runs for \(s.pipes)"))
        #expect(try s.tui(["server", "stop"]).status == 1)
    }

    @Test func aStalePidFileIsReplacedWithAMessage() throws {
        let s = try ServerScratch()
        // A pid file from a server that is gone (a process that has exited).
        let gone = try run("/bin/sh", ["-c", "echo $$"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let first = try s.startServer()
        guard let pidFile = s.pidFile else { return }
        kill(first, SIGKILL)
        #expect(eventually(timeout: 10) { !ServerScratch.alive(first) })
        try "\(gone)\nsocket=/nowhere\n".write(toFile: pidFile, atomically: true, encoding: .utf8)
        let status = try s.tui(["server", "status"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("stale pid file names process \(gone)"), "status: \(status.stdout)")
        let pid = try s.startServer()
        #expect(pid != first)
        #expect(s.logText.contains("replaced the stale pid file \(pidFile) (process \(gone) is gone)"), "log: \(s.logText)")
    }

    @Test func afterKillNineANewServerStarts() throws {
        let s = try ServerScratch()
        let first = try s.startServer()
        kill(first, SIGKILL)
        #expect(eventually(timeout: 10) { !ServerScratch.alive(first) })
        let second = try s.startServer()
        #expect(second != first)
        #expect(ServerScratch.alive(second))
        #expect(try s.tui(["server", "stop"]).status == 0)
    }
}
