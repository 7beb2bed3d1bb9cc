// TUIServerTests (issue 13): the TUI as a client of the server, with real tmux panes, real FIFOs,
// real server processes and a private XDG_RUNTIME_DIR and state directory (ServerScratch). The
// TUI starts a server when none runs and says so (`--no-server` does not); two TUIs on one
// instance through one server show the same lines in the same order, a prompt typed in one (or
// sent by a script, marked `[cli]`) shows in both, and a later `attach` shows the same; after
// `kill -9` of the server mid-flood the TUI starts a new one, marks the gap, repeats no line, and
// the history keeps the completed turn; a stopped or killed client slows neither the other TUI nor the drain; a server
// stopped on purpose is said in words and not restarted by the TUI. Every server a test starts (or its TUIs start) is
// stopped by it.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A server scratch with an instance `bot`, an echo agent on it, and TUIs in tmux panes of their
/// own, all talking to the server for the pipe directory.
final class ServerTUIScratch {
    let s: ServerScratch
    let tui: String
    private(set) var agent: Running?
    /// Each pane's tmux server needs a socket of its own: the scratch directories outlive the
    /// tmux servers (their sockets are in them, and `kill-server` needs them).
    private var panes: [Tmux] = []
    private var paneDirectories: [Scratch] = []

    init() throws {
        s = try ServerScratch()
        tui = try Binaries.tui
        #expect(try s.tui(["pipes", "create", "bot"]).status == 0)
        agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, s.pipes, "bot"])
    }

    /// A TUI through the server (none: it starts one), or with `arguments` such as `--no-server`.
    func openTUI(_ arguments: [String] = [], size: (Int, Int) = (100, 30), executable: String? = nil) throws -> Tmux {
        let scratch = Scratch()
        let environment = s.environment.merging(["TERM": "tmux-256color", "NO_COLOR": "", "CC_BRIDGE_NO_SERVER": ""]) { $1 }
        let tmux = try Tmux(size: size,
                            command: ["sh", "-c", "\"$@\"; echo \"EXITED $?\"; sleep 60", "sh", executable ?? tui] + arguments + ["--pipe-dir", s.pipes],
                            environment: environment, scratch: scratch)
        panes.append(tmux)
        paneDirectories.append(scratch)
        return tmux
    }

    /// Writes numbered lines `flood-NNNNN` to the out-FIFO as an agent would, through server
    /// restarts: no reader yet (ENXIO) or the reader died (EPIPE) means open again and go on.
    static func flood(_ path: String, _ range: ClosedRange<Int>, written: Counter? = nil, padding: Int = 0,
                      timeout: Double = 120) throws {
        signal(SIGPIPE, SIG_IGN)
        let deadline = Date().addingTimeInterval(timeout)
        var fd: Int32 = -1
        defer { if fd >= 0 { close(fd) } }
        var number = range.lowerBound
        while number <= range.upperBound {
            guard Date() < deadline else { throw HarnessError("flood stuck at line \(number)") }
            if fd < 0 {
                fd = open(path, O_WRONLY | O_NONBLOCK)
                if fd < 0 { usleep(5_000); continue }
            }
            let last = min(range.upperBound, number + 19)
            let pad = String(repeating: ".", count: padding)
            var bytes = Array((number...last).map { String(format: "flood-%05d", $0) + pad + "\n" }.joined().utf8)[...]
            while !bytes.isEmpty {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    bytes = bytes.dropFirst(n)
                } else if n < 0 && errno == EAGAIN {
                    guard Date() < deadline else { throw HarnessError("flood stuck at line \(number)") }
                    usleep(1_000)
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    // The reader died: what is left of these lines goes to the next one.
                    close(fd)
                    fd = -1
                    while fd < 0 && Date() < deadline {
                        fd = open(path, O_WRONLY | O_NONBLOCK)
                        if fd < 0 { usleep(5_000) }
                    }
                    guard fd >= 0 else { throw HarnessError("no reader came back for \(path)") }
                }
            }
            written?.set(last)
            number = last + 1
            usleep(2_000)
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func set(_ v: Int) { lock.lock(); value = v; lock.unlock() }
        var current: Int { lock.lock(); defer { lock.unlock() }; return value }
    }

    /// The numbers of the `flood-NNNNN` lines in `text`, in order.
    static func floodNumbers(_ text: String) -> [Int] {
        text.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "flood-") else { return nil }
            let digits = line[range.upperBound...].prefix(5)
            return digits.count == 5 ? Int(digits) : nil
        }
    }

    /// The running server's pid (from its pid file), once one runs.
    func serverPid(other old: pid_t? = nil, timeout: Double = 30) -> pid_t? {
        var found: pid_t?
        _ = eventually(timeout: timeout) {
            guard let pid = s.pidFileRecord, pid != old, ServerScratch.alive(pid) else { return false }
            found = pid
            return true
        }
        if let found { s.started.insert(found) }
        return found
    }

    deinit {
        // Stopped on purpose first: the TUIs must not start another server while they go.
        _ = try? s.tui(["server", "stop"], timeout: 20)
        // Killed here: a test may still hold a pane, and its socket goes with the directories.
        for tmux in panes { _ = try? tmux.tmux(["kill-server"]) }
        panes = []
        paneDirectories = []
        agent?.signal(SIGKILL)
        // A TUI that saw its server die before the stop may have started one: stop that too.
        if let pid = s.pidFileRecord { s.started.insert(pid) }
    }
}

@Suite(.serialized) struct TUIServerTests {
    @Test func theTUIStartsAServerWhenNoneRunsAndSaysSoAndNoServerDoesNot() throws {
        let t = try ServerTUIScratch()
        // No terminal: the TUI refuses to start, and starts no server either.
        let notATerminal = try t.s.tui([], timeout: 30)
        #expect(notATerminal.status == 2 && notATerminal.stderr.contains("not a terminal"), "\(notATerminal.stderr)")
        #expect(t.s.pidFile == nil, "a TUI with no terminal started a server: \(t.s.logText)")
        let local = try t.openTUI(["--no-server"])
        #expect(try local.waitFor("─ prompt → bot"), "screen:\n\(local.dump)")
        #expect(t.s.pidFile == nil, "--no-server started a server: \(t.s.logText)")
        #expect(try !local.screen().contains("started a server"))
        try local.send("q")
        #expect(try local.waitFor("EXITED 0"), "screen:\n\(local.dump)")

        let tmux = try t.openTUI()
        #expect(try tmux.waitFor("started a server (pid ", timeout: 30), "screen:\n\(tmux.dump)")
        let pid = t.serverPid()
        #expect(pid != nil, "no server runs: \(t.s.logText)")
        let screen = try tmux.screen().replacingOccurrences(of: "\n", with: "")
        #expect(screen.contains("started a server (pid \(pid ?? -1)) for \(t.s.pipes)"), "screen:\n\(tmux.dump)")
        // It reads through the server: a prompt typed here is answered.
        try tmux.send("Tab")
        try tmux.send("through the server", literal: true)
        try tmux.send("Enter")
        #expect(try tmux.waitFor("echo: through the server"), "screen:\n\(tmux.dump)")
        // Quitting leaves the server reading.
        try tmux.send("Escape")
        #expect(try tmux.waitFor("i to type a prompt"), "screen:\n\(tmux.dump)")
        try tmux.send("q")
        #expect(try tmux.waitFor("EXITED 0"), "screen:\n\(tmux.dump)")
        if let pid { #expect(ServerScratch.alive(pid), "the server must keep running when the TUI quits") }
    }

    /// `cc-bridge-tui server stop` while a TUI is open: the TUI says in words that the server was
    /// stopped and how to start it (the line ended with the error's code, "(not_running)"), starts
    /// no server of its own, and says so when one is started again.
    @Test func aServerStoppedOnPurposeIsSaidInWordsAndNotRestartedByTheTUI() throws {
        let t = try ServerTUIScratch()
        let tmux = try t.openTUI(size: (160, 30))
        #expect(try tmux.waitFor("started a server (pid ", timeout: 30), "screen:\n\(tmux.dump)")
        let first = t.serverPid()
        #expect(first != nil, "no server runs: \(t.s.logText)")
        #expect(try t.s.tui(["server", "stop"], timeout: 20).status == 0)
        #expect(try tmux.waitFor("the server was stopped; `cc-bridge-tui serve` starts it again"), "screen:\n\(tmux.dump)")
        // Stopped on purpose: the TUI's next attempts find none and start none, and each says so
        // in words, with no error code at the end (`(not_running)`, `(closed)`).
        let code = try Regex(#"\([a-z]+(_[a-z]+)*\)\s*$"#)
        let until = Date().addingTimeInterval(3)
        while Date() < until {
            let status = try tmux.capture().first { $0.contains("the server was stopped") } ?? ""
            #expect(!status.contains(code), "status line: \(status)")
            usleep(200_000)
        }
        #expect(try t.s.tui(["server", "status"]).status != 0, "a server runs again: \(t.s.logText)")
        _ = try t.s.startServer()
        #expect(try tmux.waitFor("the server is back", timeout: 30), "screen:\n\(tmux.dump)")
    }

    /// The program file replaced while the TUI runs (an upgrade, a rebuild), then the server
    /// killed: the TUI starts a new server from the file now at its path. It tried the old one
    /// ("cc-bridge-tui (deleted): No such file or directory") and never got a server back.
    @Test func afterTheProgramFileWasReplacedTheTUIStillRestartsADeadServer() throws {
        let t = try ServerTUIScratch()
        let programs = Scratch()
        let copy = programs.file("cc-bridge-tui")
        try FileManager.default.copyItem(atPath: t.tui, toPath: copy)
        let tmux = try t.openTUI(executable: copy)
        #expect(try tmux.waitFor("started a server (pid ", timeout: 30), "screen:\n\(tmux.dump)")
        guard let first = t.serverPid() else { Issue.record("no server: \(t.s.logText)"); return }
        // An upgrade: a new file at the same path (the running one's inode is gone from it).
        try FileManager.default.removeItem(atPath: copy)
        try FileManager.default.copyItem(atPath: t.tui, toPath: copy)
        kill(first, SIGKILL)
        let second = t.serverPid(other: first, timeout: 60)
        #expect(second != nil, "no new server after the kill; screen:\n\(tmux.dump)")
        try tmux.send("Tab")
        try tmux.send("after the upgrade", literal: true)
        try tmux.send("Enter")
        #expect(try tmux.waitFor("echo: after the upgrade", timeout: 30), "screen:\n\(tmux.dump)")
    }

    @Test func twoTUIsOnOneInstanceShowTheSameLinesInTheSameOrder() throws {
        let t = try ServerTUIScratch()
        _ = try t.s.startServer()
        let a = try t.openTUI()
        let b = try t.openTUI()
        #expect(try a.waitFor("─ prompt → bot") && b.waitFor("─ prompt → bot"), "screens:\n\(a.dump)\n\(b.dump)")
        try a.send("Tab")
        try a.send("typed in a", literal: true)
        try a.send("Enter")
        #expect(try b.waitFor("❯ typed in a"), "the prompt typed in one TUI shows in the other:\n\(b.dump)")
        #expect(try b.waitFor("echo: typed in a"), "screen:\n\(b.dump)")
        let sent = try t.s.tui(["send", "bot", "from a script", "--timeout", "10"])
        #expect(sent.status == 0, "send: \(sent.stderr)")
        try ServerTUIScratch.flood(t.s.pipes + "/bot.out.fifo", 1...15)
        for tmux in [a, b] {
            #expect(try tmux.waitFor("❯ [cli] from a script"), "a script's prompt is marked [cli]:\n\(tmux.dump)")
            #expect(try tmux.waitFor("flood-00015"), "screen:\n\(tmux.dump)")
        }
        // The output panes (right of the list) hold the same lines in the same order.
        func pane(_ tmux: Tmux) throws -> [String] {
            try tmux.capture().prefix(27).map { line in
                guard let bar = line.firstIndex(of: "│") else { return "" }
                return String(line[line.index(after: bar)...])
            }
        }
        #expect(try eventually(timeout: 10) { try pane(a) == pane(b) }, "panes differ:\n\(a.dump)\n---\n\(b.dump)")
        let lines = try pane(a).joined(separator: "\n")
        #expect(lines.contains("❯ typed in a\necho: typed in a"), "pane:\n\(lines)")
        #expect(ServerTUIScratch.floodNumbers(lines) == Array(1...15), "pane:\n\(lines)")

        // A viewer that comes later, with `attach`, through the same server: the same lines,
        // each prompt before its reply.
        let late = try t.openTUI(["attach", "bot"])
        #expect(try late.waitFor("flood-00015"), "screen:\n\(late.dump)")
        let seen = try late.screen()
        let order = ["❯ typed in a", "echo: typed in a", "❯ [cli] from a script", "echo: from a script", "flood-00001", "flood-00015"]
        let positions = order.map { seen.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil } && zip(positions, positions.dropFirst()).allSatisfy { $0! < $1! },
                "out of order or missing:\n\(late.dump)")
        #expect(ServerTUIScratch.floodNumbers(seen) == Array(1...15), "screen:\n\(late.dump)")
    }

    @Test func killNineOfTheServerMidFloodTheTUIStartsANewOneMarksTheGapAndRepeatsNothing() throws {
        let t = try ServerTUIScratch()
        let tmux = try t.openTUI([], size: (120, 30))
        #expect(try tmux.waitFor("started a server (pid ", timeout: 30), "screen:\n\(tmux.dump)")
        guard let first = t.serverPid() else { Issue.record("no server: \(t.s.logText)"); return }
        try tmux.send("Tab")
        try tmux.send("before the crash", literal: true)
        try tmux.send("Enter")
        #expect(try tmux.waitFor("echo: before the crash"), "screen:\n\(tmux.dump)")
        #expect(eventually(timeout: 20) {
            ((try? t.s.tui(["history", "bot"]))?.stdout ?? "").contains("completed")
        }, "the turn did not complete")
        try tmux.send("Escape")
        #expect(try tmux.waitFor("i to type a prompt"), "screen:\n\(tmux.dump)")

        let written = ServerTUIScratch.Counter()
        let fifo = t.s.pipes + "/bot.out.fifo"
        let flooding = DispatchQueue(label: "flood")
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var floodError: Error?
        flooding.async {
            do { try ServerTUIScratch.flood(fifo, 1...4000, written: written) } catch { floodError = error }
            done.signal()
        }
        #expect(eventually(timeout: 60) { written.current >= 800 }, "the flood did not start")
        kill(first, SIGKILL)
        #expect(done.wait(timeout: .now() + 180) == .success, "the flood never ended: no new server read it")
        #expect(floodError == nil, "\(String(describing: floodError))")
        let second = t.serverPid(other: first, timeout: 60)
        #expect(second != nil, "the TUI did not start a new server:\n\(tmux.dump)")
        #expect(try tmux.waitFor("flood-04000", timeout: 60), "screen:\n\(tmux.dump)")

        // History intact up to the last completed turn.
        let history = try t.s.tui(["history", "bot"])
        #expect(history.stdout.contains("before the crash") && history.stdout.contains("completed"), "history: \(history.stdout)")

        // The whole pane: the marker is there and no line is shown twice.
        try tmux.send("s")
        #expect(try tmux.waitFor("saved ", timeout: 20), "screen:\n\(tmux.dump)")
        let exports = t.s.state + "/cc-bridge-tui/exports"
        let saved = ((try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []).sorted()
        guard let name = saved.last else { Issue.record("no export in \(exports)"); return }
        let text = try String(contentsOfFile: exports + "/" + name, encoding: .utf8)
        #expect(text.contains("── server restarted: output while it was down may be missing ──"), "export:\n\(text.suffix(2000))")
        #expect(text.components(separatedBy: "echo: before the crash").count == 2, "the reply shows once:\n\(text.prefix(2000))")
        let numbers = ServerTUIScratch.floodNumbers(text)
        #expect(numbers.last == 4000)
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 }, "a line repeated or out of order")
        #expect(Set(numbers).count == numbers.count, "\(numbers.count - Set(numbers).count) lines repeated")
    }

    /// A TUI stopped while 12 MB go by overflows its 8 MB queue on the server; continued while the
    /// flood still runs, it is told it skipped events, ignores what its old subscription still
    /// sends, resubscribes from its last line and ends with every line exactly once.
    @Test func aStoppedTUIThatFellBehindCatchesUpWithEveryLineOnce() throws {
        let t = try ServerTUIScratch()
        _ = try t.s.startServer()
        let tmux = try t.openTUI([], size: (120, 30))
        #expect(try tmux.waitFor("─ prompt → bot"), "screen:\n\(tmux.dump)")
        let pid = try SessionTUITests.tuiPID(tmux)
        kill(pid, SIGSTOP)
        defer { kill(pid, SIGCONT) }
        let written = ServerTUIScratch.Counter()
        let fifo = t.s.pipes + "/bot.out.fifo"
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var floodError: Error?
        DispatchQueue(label: "flood").async {
            do { try ServerTUIScratch.flood(fifo, 1...20000, written: written, padding: 600) } catch { floodError = error }
            done.signal()
        }
        #expect(eventually(timeout: 120) { written.current >= 15000 }, "the flood stalled at \(written.current)")
        kill(pid, SIGCONT)
        #expect(done.wait(timeout: .now() + 180) == .success)
        #expect(floodError == nil, "\(String(describing: floodError))")
        #expect(try tmux.waitFor("flood-20000", timeout: 120), "screen:\n\(tmux.dump)")
        try tmux.send("s")
        #expect(try tmux.waitFor("saved ", timeout: 30), "screen:\n\(tmux.dump)")
        let exports = t.s.state + "/cc-bridge-tui/exports"
        guard let name = ((try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []).sorted().last else {
            Issue.record("no export in \(exports)")
            return
        }
        let numbers = ServerTUIScratch.floodNumbers(try String(contentsOfFile: exports + "/" + name, encoding: .utf8))
        let missing = Set(1...20000).subtracting(numbers).count
        #expect(numbers == Array(1...20000), "\(numbers.count) lines, \(missing) missing, \(numbers.count - Set(numbers).count) repeated")
    }

    @Test func aStoppedOrKilledClientSlowsNeitherTheOtherTUINorTheDrain() throws {
        let t = try ServerTUIScratch()
        let server = try t.s.startServer()
        let a = try t.openTUI()
        let b = try t.openTUI()
        #expect(try a.waitFor("─ prompt → bot") && b.waitFor("─ prompt → bot"), "screens:\n\(a.dump)\n\(b.dump)")
        let tail = try Running(t.tui, ["tail", "bot", "--follow", "--pipe-dir", t.s.pipes], environment: t.s.environment)
        defer { tail.signal(SIGKILL) }
        #expect(eventually(timeout: 20) { (try? t.s.tui(["server", "status"]))?.stdout.contains("clients  4") ?? false },
                "the TUIs and tail did not connect")
        let stoppedTUI = try SessionTUITests.tuiPID(b)
        kill(stoppedTUI, SIGSTOP)
        kill(tail.process.processIdentifier, SIGSTOP)
        defer { kill(stoppedTUI, SIGCONT) }
        // Far more than a socket buffer: the stopped clients fall behind while the drain goes on.
        try ServerTUIScratch.flood(t.s.pipes + "/bot.out.fifo", 1...20000, timeout: 120)
        #expect(try a.waitFor("flood-20000", timeout: 60), "the other TUI stalled:\n\(a.dump)")
        #expect(ServerScratch.alive(server))
        // A client killed outright: the rest goes on.
        kill(stoppedTUI, SIGKILL)
        tail.signal(SIGKILL)
        try ServerTUIScratch.flood(t.s.pipes + "/bot.out.fifo", 20001...20010, timeout: 60)
        #expect(try a.waitFor("flood-20010", timeout: 30), "screen:\n\(a.dump)")
        #expect(ServerScratch.alive(server))
    }
}
