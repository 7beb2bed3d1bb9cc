// ServerTests: `cc-bridge-tui serve` and `server status|stop` as a user runs them, with a
// private state directory and XDG_RUNTIME_DIR: one server per pipe directory (a second start is
// refused naming the first one's pid); a pid file left by a dead server is replaced with a
// message; `server stop` stops it cleanly and removes its pid file; after a `kill -9` a new
// server starts. Through the server: a prompt `send` from a script reaches a subscriber (with
// origin cli) and the history; a subscriber that reconnects from a line id over the socket gets
// every line once.

import BridgeCore
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
        #expect(s.logText.contains("asked to stop by a client") && s.logText.contains("stopped"), "log: \(s.logText)")
        let status = try s.tui(["server", "status"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("no server runs for \(s.pipes)"))
        #expect(try s.tui(["server", "stop"]).status == 1)
    }

    /// A server runs per pipe directory: `server status|stop` for one where none runs names the
    /// servers that do and the option that reaches them (a newcomer's `server stop` without
    /// `--pipe-dir` said only "no server runs for /tmp/cc-bridge/pipes").
    @Test func askingAboutAPipeDirectoryWithoutAServerNamesTheOnesThatRun() throws {
        let s = try ServerScratch()
        let other = s.scratch.file("other-pipes")
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        let before = try run(try Binaries.tui, ["server", "status", "--pipe-dir", other], environment: s.environment)
        #expect(before.status == 1 && before.stdout == "no server runs for \(other)\n", "status: \(before.stdout)")

        let pid = try s.startServer()
        let status = try run(try Binaries.tui, ["server", "status", "--pipe-dir", other], environment: s.environment)
        #expect(status.status == 1)
        #expect(status.stdout.contains("no server runs for \(other)\none runs for \(s.pipes) (pid \(pid)): add --pipe-dir \(s.pipes) to ask about it"),
                "status: \(status.stdout)")
        let stop = try run(try Binaries.tui, ["server", "stop", "--pipe-dir", other], environment: s.environment)
        #expect(stop.status == 1 && stop.stdout.contains("add --pipe-dir \(s.pipes) to stop it"), "stop: \(stop.stdout)")
        #expect(ServerScratch.alive(pid), "asking about another pipe directory must leave the server alone")
    }

    /// Servers are told apart by their pipe directory's real path: the same relative `--pipe-dir`
    /// given in another directory is another server, and it is named by its real path.
    @Test func theSameRelativePipeDirElsewhereIsAnotherServerNamedByItsRealPath() throws {
        let s = try ServerScratch()
        let here = s.scratch.file("here"), there = s.scratch.file("there")
        for directory in [here, there] {
            try FileManager.default.createDirectory(atPath: directory + "/pipes", withIntermediateDirectories: true)
        }
        let tui = try Binaries.tui
        func run(in directory: String, _ arguments: [String]) throws -> Finished {
            try EndToEndTests.run("/bin/sh", ["-c", "cd \"$0\" && exec \"$@\"", directory, tui] + arguments, environment: s.environment)
        }
        let started = try run(in: there, ["serve", "--pipe-dir", "pipes"])
        #expect(started.status == 0, "serve: \(started.stdout) \(started.stderr)")
        guard let pid = s.pidFileRecord else { Issue.record("no pid file after serve"); return }
        s.started.insert(pid)
        let realThere = ReaderLock.realPath(of: there + "/pipes")
        let status = try run(in: here, ["server", "status", "--pipe-dir", "pipes"])
        #expect(status.status == 1)
        #expect(status.stdout.contains("one runs for \(realThere) (pid \(pid)): add --pipe-dir \(realThere) to ask about it"),
                "status: \(status.stdout)")
        let same = try run(in: there, ["server", "status", "--pipe-dir", "pipes"])
        #expect(same.status == 0 && same.stdout.contains("pid      \(pid)"), "status: \(same.stdout)")
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

    /// A subscriber on the socket (the test's own IPCClient), driven on the test's thread.
    final class Subscriber {
        let loop: EventLoop
        let client: IPCClient
        var events: [IPCEvent] = []
        var subscribed = false

        init(_ s: ServerScratch, from: UInt64? = nil) throws {
            loop = try EventLoop()
            client = IPCClient(loop: loop, endpoint: IPCEndpoint(pipeDirectory: s.pipes, environment: s.environment),
                               options: IPCClientOptions(reconnect: nil))
            client.onEvent = { [weak self] in self?.events.append($0) }
            var params: [String: JSONValue] = ["instance": "bot"]
            if let from { params["from_line_id"] = .number(Double(from)) }
            client.request("subscribe", params: .object(params)) { [weak self] in self?.subscribed = (try? $0.get()) != nil }
            client.start()
        }

        func pump(timeout: Double = 20, until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while !condition() && Date() < deadline { loop.runOnce(timeout: 0.05) }
            return condition()
        }

        /// Finished output lines by id, with the ids that came twice.
        var lines: (byID: [UInt64: String], repeats: [UInt64]) {
            var byID: [UInt64: String] = [:]
            var repeats: [UInt64] = []
            for event in events {
                guard let (_, first, batch) = ServerWire.output(event, at: 0) else { continue }
                for index in 0..<batch.count where !(index == batch.count - 1 && batch.endsWithOpenLine) {
                    let id = first + UInt64(index)
                    if byID[id] != nil { repeats.append(id) }
                    byID[id] = batch[index].text
                }
            }
            return (byID, repeats)
        }

        deinit { client.stop() }
    }

    static func startAgent(_ s: ServerScratch) throws -> Running {
        try Running(try Binaries.agent, ["serve", "--name", "bot", "--pipe-dir", s.pipes, "--protocol", "plain", "--heartbeat", "0",
                                         "--echo"])
    }

    @Test func aPromptSentFromAScriptReachesASubscriberAndTheHistoryWithOriginCli() throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s)
        defer { agent.signal(SIGKILL) }
        #expect(eventually { FileManager.default.fileExists(atPath: s.pipes + "/bot.out.fifo") })
        let direct = try s.tui(["send", "bot", "without a server", "--timeout", "10"])
        #expect(direct.status == 0 && direct.stderr.contains("no server runs for \(s.pipes); writing to the in-FIFO directly"),
                "direct send: \(direct.stderr)")
        let pid = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let subscriber = try Subscriber(s)
        #expect(subscriber.pump { subscriber.subscribed })
        let send = try Running(try Binaries.tui, ["send", "bot", "from a script", "--pipe-dir", s.pipes], environment: s.environment)
        #expect(subscriber.pump { send.wait(timeout: 0) != nil })
        let sent = send.wait(timeout: 5)
        #expect(sent?.status == 0, "send: \(sent?.stderr ?? "")")
        #expect(sent?.stderr.contains("sending through the server (pid \(pid))") == true, "send: \(sent?.stderr ?? "")")
        #expect(subscriber.pump {
            subscriber.events.contains { $0.name == "turn_started" && $0.data["text"] == "from a script" && $0.data["origin"] == "cli" }
        }, "events: \(subscriber.events.map(\.name))")
        #expect(subscriber.pump { subscriber.lines.byID.values.contains("from a script") }, "events: \(subscriber.events)")
        #expect(subscriber.pump { subscriber.events.contains { $0.name == "turn_ended" } })
        let history = try s.tui(["history", "bot", "--json"])
        #expect(history.stdout.contains("\"origin\" : \"cli\""), "history: \(history.stdout)")
        #expect(try s.tui(["server", "stop"]).status == 0)
        #expect(subscriber.pump { subscriber.events.contains { $0.name == "server_stopping" } })
        let file = HistoryStore.read(path: s.state + "/cc-bridge-tui/history/bot.jsonl")
        #expect(file.turns.contains { $0.prompt == "from a script" && $0.origin == .cli && $0.status == .completed },
                "history file: \(file.turns)")
        #expect(s.pidFile == nil)
        #expect(!FileManager.default.fileExists(atPath: IPCEndpoint(pipeDirectory: s.pipes, environment: s.environment).socketPath))
    }

    /// A reply's output and the end of its turn, read together from the agent, reach a subscriber
    /// in one write, so it wakes once for them (output used to leave at once, on its own, and the
    /// end of the turn followed in a second write).
    @Test func aRepliesOutputAndItsTurnsEndWakeASubscriberOnce() throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s)
        defer { agent.signal(SIGKILL) }
        _ = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let subscriber = try Subscriber(s)
        #expect(subscriber.pump { subscriber.subscribed })
        var outputWake = -1, ended = 0, apart: [Int] = []
        subscriber.client.onEvent = { [unowned subscriber] event in
            switch event.name {
            case "output": outputWake = subscriber.loop.wakeups
            case "turn_ended":
                if outputWake != subscriber.loop.wakeups { apart.append(ended) }
                ended += 1
            default: break
            }
        }
        for i in 0..<20 {
            var answered = false
            subscriber.client.request("send", params: ["instance": "bot", "text": .string("prompt \(i)")]) { _ in answered = true }
            #expect(subscriber.pump { answered && ended == i + 1 }, "prompt \(i): \(ended) turns ended")
        }
        #expect(apart.isEmpty, "output and turn end came in separate wake-ups for turns \(apart)")
    }

    /// Over the socket: a subscriber that goes away and comes back naming the line after the last
    /// it got sees every line once.
    @Test func aSubscriberReconnectingFromALineIDOverTheSocketGetsNoGapAndNoRepeat() throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s)
        defer { agent.signal(SIGKILL) }
        _ = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let always = try Subscriber(s)
        #expect(always.pump { always.subscribed })
        var first: Subscriber? = try Subscriber(s)
        #expect(first!.pump { first!.subscribed })
        for i in 1...3 { #expect(try s.tui(["send", "bot", "one-\(i)"]).status == 0) }
        #expect(first!.pump { first!.lines.byID.values.contains("one-3") })
        let seen = first!.lines.byID
        first = nil
        for i in 1...3 { #expect(try s.tui(["send", "bot", "two-\(i)"]).status == 0) }
        let again = try Subscriber(s, from: (seen.keys.max() ?? 0) + 1)
        #expect(again.pump { again.lines.byID.values.contains("two-3") })
        var all = seen
        for (id, text) in again.lines.byID {
            #expect(all[id] == nil, "line \(id) came twice")
            all[id] = text
        }
        #expect(again.lines.repeats.isEmpty)
        // Exactly what a subscriber that never left got (the plain agent's bare `❯ ` lines are
        // open lines the next prompt takes away: their ids are never finished lines).
        #expect(always.pump { always.lines.byID.values.contains("two-3") })
        #expect(all == always.lines.byID, "resumed: \(all.sorted { $0.key < $1.key })\nalways: \(always.lines.byID.sorted { $0.key < $1.key })")
        let ids = all.keys.sorted()
        let texts = ids.map { all[$0]! }
        for word in ["one-1", "one-2", "one-3", "two-1", "two-2", "two-3"] {
            #expect(texts.filter { $0 == word }.count == 1, "\(word) in \(texts)")
        }
    }

    /// `tail --follow` through the server when the server is killed with SIGKILL and a new one
    /// starts: tail says the server is gone, reconnects, and prints what the new server read,
    /// also what it read before tail was back.
    @Test func tailFollowThroughTheServerSurvivesAServerKilledAndRestarted() throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s)
        defer { agent.signal(SIGKILL) }
        let first = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the server never read bot")
        let tail = try Running(try Binaries.tui, ["tail", "bot", "--follow", "--pipe-dir", s.pipes], environment: s.environment)
        defer { tail.signal(SIGKILL) }
        #expect(try s.tui(["send", "bot", "before the kill"]).status == 0)
        #expect(eventually { tail.stdout.contains("before the kill\n") }, "tail: \(tail.stdout.debugDescription) \(tail.stderr)")
        kill(first, SIGKILL)
        #expect(eventually(timeout: 10) { !ServerScratch.alive(first) })
        #expect(eventually { tail.stderr.contains("server gone") }, "tail stderr: \(tail.stderr)")
        // The new server reads a reply before tail is back: its line ids start at 1 again, so
        // tail must not resume from the old server's last id.
        kill(tail.process.processIdentifier, SIGSTOP)
        _ = try s.startServer()
        #expect(try eventually { try s.tui(["list"]).stdout.contains("idle") }, "the new server never read bot")
        #expect(try s.tui(["send", "bot", "while tail was stopped"]).status == 0)
        #expect(try eventually { try s.tui(["history", "bot"]).stdout.contains("    while tail was stopped") })
        kill(tail.process.processIdentifier, SIGCONT)
        #expect(eventually { tail.stderr.contains("the server is back") }, "tail stderr: \(tail.stderr)")
        #expect(eventually { tail.stdout.contains("while tail was stopped\n") }, "tail: \(tail.stdout.debugDescription)")
        #expect(try s.tui(["send", "bot", "after the restart"]).status == 0)
        #expect(eventually { tail.stdout.contains("after the restart\n") }, "tail: \(tail.stdout.debugDescription) \(tail.stderr)")
        #expect(tail.stdout.components(separatedBy: "before the kill\n").count == 2, "printed twice: \(tail.stdout.debugDescription)")
        tail.signal(SIGINT)
        #expect(tail.wait(timeout: 5)?.status == 0)
    }
}
