// SessionTUITests: the TUI's session history and outbox end to end: the real binary in tmux,
// real FIFOs, python agents; history files under the scratch XDG_STATE_HOME.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct SessionTUITests {
    /// Like CLITests.upstreamStyleAgent, but a prompt starting with "slow" gets an answer that
    /// never finishes (no ❯ marker), so the turn stays open.
    static let slowAgent = """
    import os, sys
    d, name = sys.argv[1], sys.argv[2]
    inp, out = f"{d}/{name}.in.fifo", f"{d}/{name}.out.fifo"
    while True:
        with open(inp, "rb") as f:
            for raw in f:
                line = raw.strip()
                if not line: continue
                chunks = [b"working on: " + line + b"\\n"] if line.startswith(b"slow") else [b"echo: " + line + b"\\n", "\\u276f ".encode()]
                for chunk in chunks:
                    fd = os.open(out, os.O_WRONLY)
                    os.write(fd, chunk)
                    os.close(fd)
    """

    /// The pid of the cc-bridge-tui process in the pane (the pane runs `sh -c`).
    static func tuiPID(_ tmux: Tmux) throws -> pid_t {
        let pane = try tmux.paneInfo("#{pane_pid}")
        let child = try run("/usr/bin/env", ["pgrep", "-P", pane, "-f", "cc-bridge-tui"]).stdout
            .split(separator: "\n").first.map(String.init) ?? ""
        guard let pid = pid_t(child) else { throw HarnessError("no cc-bridge-tui under pane \(pane)") }
        return pid
    }

    @Test func historySurvivesKillNineMidTurn() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        // A quiet period longer than the test, so the slow turn is still open when killed.
        let config = s.scratch.file("config.yaml")
        try "docker:\n  session:\n    quiet_period: 600\n".write(toFile: config, atomically: true, encoding: .utf8)
        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", Self.slowAgent, s.pipes, "bot"]))
        let command = ["sh", "-c", "cd \"$0\" && \"$@\"; echo \"EXITED $?\"; sleep 60", s.scratch.path, try Binaries.tui,
                       "--config", config, "--pipe-dir", s.pipes]
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, command.map(Tmux.quote).joined(separator: " ")])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("hello one", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: hello one"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("slow two", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("working on: slow two"), "screen:\n\(s.tmux.dump)")
        kill(try Self.tuiPID(s.tmux), SIGKILL)
        #expect(try s.tmux.waitFor("EXITED 137"), "screen:\n\(s.tmux.dump)")

        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, command.map(Tmux.quote).joined(separator: " ")])
        #expect(try s.tmux.waitFor("earlier conversation: 2 turns from history"), "screen:\n\(s.tmux.dump)")
        let screen = try s.tmux.screen()
        #expect(screen.contains("❯ hello one"))
        #expect(screen.contains("❯ slow two"))
        #expect(screen.contains("[failed: cc-bridge-tui stopped before the turn finished]"), "screen:\n\(screen)")
        // ↑ in the prompt brings back the prompts typed before the restart.
        try s.tmux.send("Tab")
        try s.tmux.send("Up")
        #expect(try s.tmux.waitFor("> slow two"), "screen:\n\(s.tmux.dump)")
        // The turn history lists both, the cut-off one as failed. (Wait until Esc has left the
        // prompt: Esc and T read together would be Alt-T.)
        try s.tmux.send("C-u")
        try s.tmux.send("Escape")
        #expect(try s.tmux.waitFor("> i to type a prompt"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("T")
        #expect(try s.tmux.waitFor("Turns of bot"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("failedʰ"))
        #expect(try s.tmux.screen().contains("completedʰ"))
    }

    @Test func promptsQueuedWhileNoAgentListensAreDeliveredInOrder() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("first queued", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("q1"), "screen:\n\(s.tmux.dump)")
        for text in ["second queued", "third queued"] {
            try s.tmux.send(text, literal: true)
            try s.tmux.send("Enter")
        }
        #expect(try s.tmux.waitFor("q3"), "screen:\n\(s.tmux.dump)")
        // The outbox overlay lists them in order (once Esc has left the prompt, see above).
        try s.tmux.send("Escape")
        #expect(try s.tmux.waitFor("> i to type a prompt"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("o")
        #expect(try s.tmux.waitFor("Queued for bot: 3"), "screen:\n\(s.tmux.dump)")
        let listed = try s.tmux.capture()
        let first = listed.firstIndex { $0.contains("1.") && $0.contains("first queued") }
        let third = listed.firstIndex { $0.contains("3.") && $0.contains("third queued") }
        #expect(first != nil && third != nil && first! < third!, "screen:\n\(listed.joined(separator: "\n"))")
        try s.tmux.send("Escape")

        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, s.pipes, "bot"]))
        #expect(try s.tmux.waitFor("echo: third queued"), "screen:\n\(s.tmux.dump)")
        let lines = try s.tmux.capture()
        let order = ["first", "second", "third"].map { word in lines.firstIndex { $0.contains("echo: \(word) queued") } ?? -1 }
        #expect(order[0] >= 0 && order[0] < order[1] && order[1] < order[2], "screen:\n\(lines.joined(separator: "\n"))")
        #expect(try eventually { try !s.tmux.screen().contains("q1") && !s.tmux.screen().contains("queued ─") },
                "screen:\n\(s.tmux.dump)")
    }

    /// A history file that cannot be written is reported once; sending and output keep working.
    /// (A symlink is refused with O_NOFOLLOW; ENOSPC takes the same path, see HistoryStoreTests.)
    @Test func unwritableHistoryIsReportedAndTheTUIKeepsWorking() throws {
        let s = try TUISession(instances: ["bot"], agentOn: ["bot"])
        // TUISession already started the TUI; restart it once the history file is a symlink.
        let history = s.scratch.file("state/cc-bridge-tui/history")
        try FileManager.default.createDirectory(atPath: history, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: history + "/bot.jsonl", withDestinationPath: "/dev/full")
        let command = ["sh", "-c", "cd \"$0\" && \"$@\"; echo \"EXITED $?\"; sleep 60", s.scratch.path, try Binaries.tui,
                       "--pipe-dir", s.pipes]
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, command.map(Tmux.quote).joined(separator: " ")])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        #expect(try s.tmux.waitFor("bot: history not"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Tab")
        try s.tmux.send("still works", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: still works"), "screen:\n\(s.tmux.dump)")
    }
}
