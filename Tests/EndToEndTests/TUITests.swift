// TUITests: the real cc-bridge-tui binary in a private tmux server, driven with send-keys and
// read with capture-pane, against real FIFOs and an upstream-style agent process.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A pipe directory with instances, an echo agent on `bot`, and the TUI running in tmux.
final class TUISession {
    let scratch = Scratch()
    let pipes: String
    var agents: [Running] = []
    var tmux: Tmux!

    init(instances: [String] = ["bot", "other"], agentOn: [String] = ["bot"], size: (Int, Int) = (100, 30),
         arguments: [String] = []) throws {
        pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        for name in instances {
            _ = try run(tui, ["pipes", "create", name, "--pipe-dir", pipes])
        }
        for name in agentOn {
            agents.append(try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, name]))
        }
        let env = ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"),
                   "XDG_CONFIG_HOME": scratch.file("config"), "NO_COLOR": "", "TERM": "tmux-256color"]
        tmux = try Tmux(size: (size.0, size.1),
                        command: ["sh", "-c", "cd \"$0\" && \"$@\"; echo \"EXITED $?\"; sleep 60", scratch.path, tui]
                            + arguments + ["--pipe-dir", pipes],
                        environment: env, scratch: scratch)
    }

    /// Writes raw bytes to an instance's out-FIFO, as an agent would.
    func emit(_ name: String, _ text: String) throws {
        signal(SIGPIPE, SIG_IGN)   // a TUI that exits must fail a test, not kill the runner
        let fd = open(pipes + "/" + name + ".out.fifo", O_WRONLY | O_NONBLOCK)
        guard fd >= 0 else { throw HarnessError("cannot open out-FIFO of \(name): errno \(errno)") }
        defer { close(fd) }
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 { bytes = bytes.dropFirst(n) } else if errno == EAGAIN { usleep(1000) } else { break }
        }
    }

    deinit {
        tmux = nil
        for agent in agents { agent.signal(SIGKILL) }
    }
}

@Suite(.serialized) struct TUITests {
    @Test func selectTypeAPromptAndSeeTheReply() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        try s.tmux.send("j")                 // select `other`
        #expect(try s.tmux.waitFor("─ prompt → other"))
        try s.tmux.send("k")                 // back to `bot`
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("hello from tmux", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: hello from tmux"), "screen:\n\(s.tmux.dump)")
    }

    /// A prompt that finds no agent is queued, counted in the list, and delivered once one reads.
    @Test func notListeningQueuesThePromptAndDeliversItWhenAnAgentAppears() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        try s.tmux.send("j")
        try s.tmux.send("Tab")
        try s.tmux.send("nobody listens", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("queued for other: agent not listening", timeout: 20), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("q1"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("> nobody listens"), "the prompt box clears once the prompt is queued")
        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, s.pipes, "other"]))
        #expect(try s.tmux.waitFor("echo: nobody listens"), "screen:\n\(s.tmux.dump)")
        #expect(try eventually { try !s.tmux.screen().contains("q1") }, "screen:\n\(s.tmux.dump)")
    }

    /// Other failures are not queued: the text stays in the prompt and the status says why.
    @Test func failedSendKeepsTheTextAndSaysWhy() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        // The in-FIFO becomes a regular file: unsafe, never written to, never queued.
        let inPath = s.pipes + "/other.in.fifo"
        try FileManager.default.removeItem(atPath: inPath)
        FileManager.default.createFile(atPath: inPath, contents: Data())
        try s.tmux.send("j")
        try s.tmux.send("Tab")
        try s.tmux.send("still here", literal: true)
        try s.tmux.send("Enter")
        #expect(try eventually { let screen = try s.tmux.screen(); return screen.contains("not a FIFO") || screen.contains("broken") },
                "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("> still here"))
        #expect(try !s.tmux.screen().contains("queued for other"))
    }

    @Test func scrollingUpPausesAndGResumes() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("following"))
        try s.emit("bot", (1...300).map { "line \($0)\n" }.joined())
        #expect(try s.tmux.waitFor("line 300"))
        try s.tmux.send("PageUp")
        #expect(try s.tmux.waitFor("paused"), "screen:\n\(s.tmux.dump)")
        try s.emit("bot", "newer 1\nnewer 2\n")
        #expect(try s.tmux.waitFor("2 new lines"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("newer 2"))
        try s.tmux.send("G")
        #expect(try s.tmux.waitFor("newer 2"))
        #expect(try s.tmux.waitFor("following"))
    }

    @Test func searchFindsAndHighlightsAMatch() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("following"))
        try s.emit("bot", (1...200).map { $0 == 17 ? "the needle is here\n" : "hay \($0)\n" }.joined())
        #expect(try s.tmux.waitFor("hay 200"))
        try s.tmux.send("/")
        try s.tmux.send("needle", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("the needle is here"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("1 match for 'needle'"), "screen:\n\(s.tmux.dump)")
        // The match is drawn highlighted: an SGR change right before it on screen.
        let styled = try s.tmux.tmux(["capture-pane", "-p", "-e", "-t", s.tmux.session]).stdout
        let line = styled.split(separator: "\n").first { $0.contains("needle") }.map(String.init) ?? ""
        #expect(line.contains("m" + "needle") || line.contains("mthe needle"), "no highlight in: \(line.debugDescription)")
    }

    @Test func multiLinePasteDoesNotSubmit() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("bot"))
        try s.tmux.send("Tab")
        try s.tmux.tmux(["set-buffer", "-b", "p", "first pasted line\nsecond pasted line\nthird"])
        try s.tmux.tmux(["paste-buffer", "-p", "-b", "p", "-t", s.tmux.session])
        #expect(try s.tmux.waitFor("second pasted line"), "screen:\n\(s.tmux.dump)")
        usleep(500_000)
        #expect(try !s.tmux.screen().contains("echo:"), "a paste must never submit")
        try s.tmux.send("Enter")
        // The plain protocol takes one line: the agent echoes the prompt with spaces for newlines.
        #expect(try s.tmux.waitFor("echo: first pasted line second pasted line third"), "screen:\n\(s.tmux.dump)")
    }

    @Test func resizingToTooSmallAndBackWorks() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.resize(cols: 30, rows: 8)
        #expect(try s.tmux.waitFor("too small"), "screen:\n\(s.tmux.dump)")
        try s.tmux.resize(cols: 100, rows: 30)
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        #expect(try !s.tmux.screen().contains("too small"))
    }

    @Test func helpOverlayOpensAndCloses() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("bot"))
        try s.tmux.send("?")
        #expect(try s.tmux.waitFor("Show or hide this help"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("?")
        #expect(try eventually { try !s.tmux.screen().contains("Show or hide this help") })
    }

    @Test func attachShowsOneInstanceAndDetachReturns() throws {
        let s = try TUISession(arguments: [])
        #expect(try s.tmux.waitFor("other"))
        try s.tmux.send("a")
        #expect(try eventually { try !s.tmux.screen().contains("○ other") }, "screen:\n\(s.tmux.dump)")
        try s.tmux.send("attached prompt", literal: true)   // the prompt has focus after attach
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: attached prompt"))
        try s.tmux.send("C-]")
        #expect(try s.tmux.waitFor("other"))
    }

    @Test func attachCommandStartsFocusedOnThePrompt() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        _ = try run(tui, ["pipes", "create", "solo", "--pipe-dir", pipes])
        let agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "solo"])
        defer { agent.signal(SIGKILL) }
        let tmux = try Tmux(command: [tui, "attach", "solo", "--pipe-dir", pipes],
                            environment: ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state")], scratch: scratch)
        #expect(try tmux.waitFor("solo"))
        try tmux.send("q typed as text", literal: true)   // `q` must not quit: the prompt has focus
        try tmux.send("Enter")
        #expect(try tmux.waitFor("echo: q typed as text"), "screen:\n\(tmux.dump)")
        let missing = try run(tui, ["attach", "nope", "--pipe-dir", pipes])
        #expect(missing.status != 0)
    }

    @Test func quitLeavesTheTerminalAsItWas() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("bot"))
        #expect(try s.tmux.paneInfo("#{alternate_on}") == "1")
        try s.tmux.send("q")
        #expect(try s.tmux.waitFor("EXITED 0"))
        #expect(try s.tmux.paneInfo("#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag} #{keypad_flag}") == "0 0 0 1 0")
        // Bracketed paste is off again: a paste into the shell arrives without 200~ markers.
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, "cat -v"])
        usleep(300_000)
        try s.tmux.tmux(["set-buffer", "-b", "q", "plain"])
        try s.tmux.tmux(["paste-buffer", "-p", "-b", "q", "-t", s.tmux.session])
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("plain"))
        #expect(try !s.tmux.screen().contains("200~"))
    }

    @Test(arguments: [SIGTERM, SIGHUP, SIGINT])
    func signalsLeaveTheTerminalRestored(signal: Int32) throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("bot"))
        let pid = try s.tmux.paneInfo("#{pane_pid}")
        // The pane runs `sh -c`; the TUI is its child.
        let child = try run("/usr/bin/env", ["pgrep", "-P", pid, "-f", "cc-bridge-tui"]).stdout
            .split(separator: "\n").first.map(String.init) ?? ""
        // Never kill(0, …): that would signal the test runner's own process group.
        let tuiPID = try #require(pid_t(child), "no cc-bridge-tui under pane pid \(pid)")
        try #require(tuiPID > 1)
        kill(tuiPID, signal)
        #expect(try s.tmux.waitFor("EXITED"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo("#{alternate_on} #{mouse_any_flag} #{cursor_flag}") == "0 0 1")
    }

    @Test func everyKeyTypedDuringAFloodShowsUpInOrder() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("bot"))
        try s.tmux.send("Tab")
        let flooding = try Running("/usr/bin/env", ["python3", "-c", """
        import os, sys, time
        fd = os.open(sys.argv[1], os.O_WRONLY)
        line = b"\\x1b[33mflood\\x1b[0m " + b"y" * 90 + b"\\n"
        end = time.time() + 6
        while time.time() < end:
            os.write(fd, line * 200)
        """, s.pipes + "/bot.out.fifo"])
        defer { flooding.signal(SIGKILL) }
        let typed = "the quick brown fox jumps over the lazy dog 0123456789"
        for character in typed {
            try s.tmux.send(String(character), literal: true)
        }
        #expect(try s.tmux.waitFor("> " + typed, timeout: 30), "screen:\n\(s.tmux.dump)")
        _ = flooding.wait(timeout: 20)
    }

    @Test func stdinThatIsNotATerminalIsAClearError() throws {
        let scratch = Scratch()
        let result = try run(try Binaries.tui, ["--pipe-dir", scratch.path], stdin: Data())
        #expect(result.status == 2)
        #expect(result.stderr.contains("not a terminal"))
    }
}
