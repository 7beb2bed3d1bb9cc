// FaultTUITests: the real TUI in tmux under faults: the window resized to 1x1 and back in a loop,
// a crash (SIGSEGV, SIGABRT sent to the process), and an agent that stops reading for 30 s while
// the user keeps typing and sending. The TUI must stay responsive and leave the terminal restored.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension TUISession {
    /// The pid of the cc-bridge-tui process (the pane runs `sh -c`; the TUI is its child).
    func tuiPID() throws -> pid_t { try tmux.childPID(named: "cc-bridge-tui") }

    /// Writes raw bytes (not necessarily UTF-8) to an instance's out-FIFO.
    func emit(_ name: String, bytes: [UInt8]) throws {
        let fd = open(pipes + "/" + name + ".out.fifo", O_WRONLY | O_NONBLOCK)
        guard fd >= 0 else { throw HarnessError("cannot open out-FIFO of \(name): errno \(errno)") }
        defer { close(fd) }
        var rest = bytes[...]
        while !rest.isEmpty {
            let n = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n > 0 { rest = rest.dropFirst(n) } else if errno == EAGAIN { usleep(1000) } else { break }
        }
    }
}

@Suite(.serialized) struct FaultTUITests {
    @Test func resizingTo1x1AndBackInALoopSurvivesAndRedraws() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        let sizes = [(1, 1), (100, 30), (2, 1), (1, 5), (40, 10), (1, 1), (200, 60), (1, 1)]
        for round in 0..<4 {
            for (cols, rows) in sizes {
                try s.tmux.resize(cols: cols, rows: rows)
                usleep(30_000)
            }
            try s.emit("bot", "output during resize round \(round)\n")
        }
        #expect(!s.tmux.paneDead, "the TUI died while resizing")
        try s.tmux.resize(cols: 100, rows: 30)
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("output during resize round 3"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("EXITED"))
        // Still responsive: a prompt typed now is shown and delivered.
        try s.tmux.send("Tab")
        try s.tmux.send("after resizing", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: after resizing"), "screen:\n\(s.tmux.dump)")
    }

    @Test(arguments: [SIGSEGV, SIGABRT])
    func aCrashLeavesTheTerminalRestored(signal: Int32) throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        #expect(try s.tmux.paneInfo("#{alternate_on}") == "1")
        kill(try s.tuiPID(), signal)
        #expect(try s.tmux.waitFor("EXITED \(128 + signal)"), "the signal is re-raised: screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo("#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag} #{keypad_flag}")
                == "0 0 0 1 0")
    }

    @Test func agentThatStopsReadingFor30SecondsNeverFreezesTheTUI() throws {
        let s = try TUISession(agentOn: [])
        // The agent holds the in-FIFO open without reading for 30 s, then reads: filler lines are
        // dropped, prompts echoed.
        let ready = s.scratch.file("agent-ready")
        let agent = try Running("/usr/bin/env", ["python3", "-c", """
        import os, sys, time
        d, ready = sys.argv[1], sys.argv[2]
        fd = os.open(d + "/bot.in.fifo", os.O_RDONLY | os.O_NONBLOCK)
        open(ready, "w").close()
        time.sleep(30)
        def serve(f):
            for raw in f:
                if raw.startswith(b"#fill"): continue
                out = os.open(d + "/bot.out.fifo", os.O_WRONLY)
                os.write(out, b"echo: " + raw)
                os.close(out)
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as f: serve(f)      # the backlog, up to EOF (no writer left)
        while True:                                   # then like cc-bridge's agent: reopen per prompt
            with open(d + "/bot.in.fifo", "rb") as f: serve(f)
        """, s.pipes, ready])
        defer { agent.signal(SIGKILL) }
        #expect(eventually { FileManager.default.fileExists(atPath: ready) })
        // Fill the pipe's buffer so the next write would block. Writes under PIPE_BUF are atomic,
        // so no torn filler line is left for the agent to glue to a later prompt.
        let fill = open(s.pipes + "/bot.in.fifo", O_WRONLY | O_NONBLOCK)
        #expect(fill >= 0)
        let line = Array(("#fill " + String(repeating: "f", count: 249) + "\n").utf8)   // 256 bytes
        while line.withUnsafeBytes({ write(fill, $0.baseAddress, $0.count) }) == line.count {}
        close(fill)
        let stallStart = Date()
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("first while stalled", literal: true)
        try s.tmux.send("Enter")
        // The send gives up (or queues) instead of blocking; the loop keeps serving keys.
        #expect(try s.tmux.waitFor("agent stopped reading", timeout: 25) || s.tmux.screen().contains("queued"),
                "screen:\n\(s.tmux.dump)")
        for i in 1...3 {
            try s.tmux.send("typed \(i) ", literal: true)
            #expect(try s.tmux.waitFor("typed \(i)", timeout: 10), "keys must show while the agent is stalled")
        }
        #expect(Date().timeIntervalSince(stallStart) < 30, "the checks above ran while the agent was stalled")
        #expect(!s.tmux.paneDead)
        // Once the agent reads again, a new prompt gets through.
        try s.tmux.send("C-u")
        Thread.sleep(until: stallStart.addingTimeInterval(31))
        try s.tmux.send("after the stall", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: after the stall", timeout: 30), "screen:\n\(s.tmux.dump)")
    }
}
