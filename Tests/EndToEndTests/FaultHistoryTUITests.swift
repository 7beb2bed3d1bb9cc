// FaultHistoryTUITests: history files that are not what they seem, with the real binaries: a FIFO
// at the history path (the TUI draws and quits, `history` and `status` finish), and an
// unreadable history under a real unprivileged uid (setpriv), which the TUI leaves in place
// while it writes a fresh file beside it.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct FaultHistoryTUITests {
    static func historyPath(_ scratch: Scratch, _ instance: String) -> String {
        scratch.file("state") + "/cc-bridge-tui/history/" + instance + ".jsonl"
    }

    @Test func aFifoAtTheHistoryPathNeitherHangsTheTUINorTheCommands() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        #expect(try s.tmux.waitFor("bot"), "screen:\n\(s.tmux.dump)")
        // Stop the first TUI, plant the FIFO, start again.
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, "sleep 60"])
        let history = Self.historyPath(s.scratch, "bot")
        try FileManager.default.createDirectory(atPath: (history as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try? FileManager.default.removeItem(atPath: history)
        #expect(mkfifo(history, 0o600) == 0)
        let command = ["sh", "-c", "cd \"$0\" && \"$@\"; echo \"EXITED $?\"; sleep 60", s.scratch.path, try Binaries.tui,
                       "--pipe-dir", s.pipes]
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, command.map(Tmux.quote).joined(separator: " ")])
        #expect(try s.tmux.waitFor("is a FIFO", timeout: 10), "no first frame, or no notice:\n\(s.tmux.dump)")
        try s.tmux.send("q")
        #expect(try s.tmux.waitFor("EXITED 0", timeout: 10), "q was not taken:\n\(s.tmux.dump)")
        #expect(HistoryFileKind.of(history) == "FIFO", "left in place")

        let env = ["HOME": s.scratch.path, "XDG_STATE_HOME": s.scratch.file("state"), "XDG_CONFIG_HOME": s.scratch.file("config")]
        let listed = try run(try Binaries.tui, ["history", "bot", "--pipe-dir", s.pipes], timeout: 10, environment: env)
        #expect(listed.stderr.contains("is a FIFO, not a regular file"), "\(listed.stderr)")
        #expect(listed.stderr.contains(history + ".fresh"), "the notice names the fresh file: \(listed.stderr)")
        let status = try run(try Binaries.tui, ["status", "bot", "--pipe-dir", s.pipes], timeout: 10, environment: env)
        #expect(status.stdout.contains("bot"), "\(status.stdout)\(status.stderr)")
    }

    /// The TUI runs as uid 65534 (setpriv, from a root test run) on a history file of its own
    /// that it cannot read (mode 0200). Three answered prompts with max_history 1 would make the
    /// old store rewrite the file from memory, losing the old turns; now the file stays as it
    /// was and the turns go to the fresh file beside it.
    @Test func anUnreadableHistoryIsLeftInPlaceUnderARealUnprivilegedUser() throws {
        guard geteuid() == 0 else { return }   // CI runs as root; setpriv needs it
        let nobody: uid_t = 65534
        let s = try TUISession(instances: ["bot"], agentOn: [])
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session, "sleep 60"])
        // Everything the unprivileged processes touch belongs to them.
        let state = s.scratch.file("state")
        let historyDir = state + "/cc-bridge-tui/history"
        try? FileManager.default.removeItem(atPath: state)
        try FileManager.default.createDirectory(atPath: historyDir, withIntermediateDirectories: true)
        let history = historyDir + "/bot.jsonl"
        let old = #"{"kind":"turn","turn":{"id":"old","prompt":"before","response":"kept","sent_at":1,"status":"completed","truncated":false},"v":1}"#
            + "\n"
        try old.write(toFile: history, atomically: false, encoding: .utf8)
        let config = s.scratch.file("config.yaml")
        try "docker:\n  session:\n    max_history: 1\n    quiet_period: 0.2\n".write(toFile: config, atomically: true, encoding: .utf8)
        for path in [s.scratch.path, s.pipes, state, state + "/cc-bridge-tui", historyDir, history, config,
                     s.pipes + "/bot.in.fifo", s.pipes + "/bot.out.fifo"] {
            #expect(chown(path, nobody, nobody) == 0, "chown \(path)")
        }
        #expect(chmod(s.scratch.path, 0o755) == 0 && chmod(history, 0o200) == 0)
        let drop = ["setpriv", "--reuid=\(nobody)", "--regid=\(nobody)", "--clear-groups"]
        let bin = s.scratch.file("bin")
        #expect(mkdir(bin, 0o755) == 0)
        let agent = try Binaries.copy(try Binaries.agent, into: bin, for: nobody)
        let tui = try Binaries.copy(try Binaries.tui, into: bin, for: nobody)
        s.agents.append(try Running("/usr/bin/env", drop + [agent, "serve", "--name", "bot", "--pipe-dir", s.pipes,
                                                          "--echo"]))
        let command = drop + ["env", "HOME=" + s.scratch.path, "XDG_STATE_HOME=" + state, tui, "--config", config,
                              "--pipe-dir", s.pipes]
        try s.tmux.tmux(["respawn-pane", "-k", "-t", s.tmux.session,
                         "sh -c " + Tmux.quote(command.map(Tmux.quote).joined(separator: " ") + "; echo EXITED $?; sleep 60")])
        #expect(try s.tmux.waitFor("Permission denied", timeout: 15), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Tab")
        for i in 1...3 {
            try s.tmux.send("prompt number \(i)", literal: true)
            try s.tmux.send("Enter")
            #expect(try s.tmux.waitFor("prompt number \(i)"), "screen:\n\(s.tmux.dump)")
            usleep(600_000)   // the turn ends after the quiet period
        }
        try s.tmux.send("Escape")
        usleep(200_000)
        try s.tmux.send("q")
        #expect(try s.tmux.waitFor("EXITED 0", timeout: 10), "screen:\n\(s.tmux.dump)")
        #expect(try String(contentsOfFile: history, encoding: .utf8) == old, "the unreadable history was changed")
        let fresh = (try? String(contentsOfFile: history + ".fresh", encoding: .utf8)) ?? ""
        #expect(fresh.contains("prompt number 3"), "the new turns are in the fresh file: \(fresh)")
        var st = stat()
        #expect(stat(history + ".fresh", &st) == 0 && st.st_uid == nobody)
    }
}

/// What is at a path, without following a symlink.
enum HistoryFileKind {
    static func of(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        switch UInt32(st.st_mode) & UInt32(S_IFMT) {
        case UInt32(S_IFIFO): return "FIFO"
        case UInt32(S_IFREG): return "regular file"
        default: return "other"
        }
    }
}
