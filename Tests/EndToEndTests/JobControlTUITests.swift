// JobControlTUITests: the real TUI started from an interactive job-control shell (dash -i) in
// tmux, as a user starts it: Ctrl-Z and SIGTSTP give the terminal back to the shell and `fg`
// brings the UI back; after SIGSTOP (which cannot be caught) and a shell that reset the tty, `fg`
// restores raw mode and repaints; a missing or C locale still shows UTF-8 (borders, output); a
// terminal whose locale names another charset gets ASCII and a notice; an unset, unknown or
// cursor-less TERM gets a clear message.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An interactive dash in tmux (job control on, no line editor, so what the shell echoes is what
/// the tty driver echoes), one instance `bot` with an echoing agent.
final class ShellTUISession {
    let scratch = Scratch()
    let pipes: String
    let tui: String
    var agent: Running?
    var tmux: Tmux!
    /// What the pane's formats say about the modes the TUI switches on and off.
    static let modes = "#{alternate_on} #{mouse_any_flag} #{mouse_sgr_flag} #{cursor_flag} #{keypad_flag}"

    init(size: (Int, Int) = (100, 30)) throws {
        pipes = scratch.file("pipes")
        tui = try Binaries.tui
        _ = try run(tui, ["pipes", "create", "bot", "--pipe-dir", pipes])
        agent = try Running("/usr/bin/env", ["python3", "-c", CLITests.upstreamStyleAgent, pipes, "bot"])
        let env = ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"), "XDG_CONFIG_HOME": scratch.file("config"),
                   "NO_COLOR": "", "TERM": "tmux-256color", "ENV": ""]
        tmux = try Tmux(size: (size.0, size.1), command: ["env", "PS1=$ ", "dash", "-i"], environment: env, scratch: scratch)
        guard try tmux.waitFor("$") else { throw HarnessError("no shell prompt: \(tmux.dump)") }
    }

    /// Types a command line into the shell: `prefix` (e.g. `env LC_ALL=C`), the TUI, then `suffix`.
    func start(prefix: [String] = [], arguments: [String] = [], suffix: String = "") throws {
        let line = (prefix + [tui, "--pipe-dir", pipes] + arguments).map(Tmux.quote).joined(separator: " ") + suffix
        try tmux.send(line, literal: true)
        try tmux.send("Enter")
    }

    /// Sends a prompt through the CLI; the agent's echo ("echo: …") then shows in the TUI.
    func sendThroughCLI(_ text: String) throws {
        let sent = try run(tui, ["send", "bot", text, "--pipe-dir", pipes, "--timeout", "10"])
        guard sent.status == 0 else { throw HarnessError("send failed: \(sent.stderr)") }
    }

    /// The screen's lines joined without breaks: text the shell wrote over the UI wraps anywhere.
    func flatScreen() throws -> String { try tmux.capture().joined() }

    /// The pane's tty flags as `stty -a` prints them ("icanon", "-echo", …).
    func ttyFlags() throws -> Set<String> {
        let tty = try tmux.paneInfo("#{pane_tty}")
        var stty = try run("/usr/bin/env", ["stty", "-a", "-F", tty])
        // Under load the collected output can come up short (Running.wait); ask again.
        for _ in 0..<5 where stty.status == 0 && !stty.stdout.contains("icanon") {
            stty = try run("/usr/bin/env", ["stty", "-a", "-F", tty])
        }
        guard stty.status == 0 else { throw HarnessError("stty -F \(tty): \(stty.status) \(stty.stderr)") }
        return Set(stty.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ";" }).map(String.init))
    }

    deinit {
        tmux = nil
        agent?.signal(SIGKILL)
    }
}

@Suite(.serialized) struct JobControlTUITests {
    /// Ctrl-Z (the suspend key; also with the TUI under a wrapper script, which must stop with it
    /// or the shell never gets the terminal back) and SIGTSTP from outside: the shell gets a
    /// terminal as it was (cooked, echoing, no mouse, no bracketed paste, main screen, cursor
    /// shown); `fg` brings back every mode and a full repaint, and keys work at once.
    @Test(arguments: ["key", "key, under a wrapper script", "SIGTSTP from outside"])
    func suspendGivesTheTerminalBackAndFgRestoresTheUI(how: String) throws {
        let s = try ShellTUISession()
        try s.start(prefix: how.contains("wrapper") ? ["sh", "-c", "\"$@\"; :", "wrapper"] : [])
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo(ShellTUISession.modes) == "1 1 1 0 1")
        if how.contains("SIGTSTP") {
            kill(try s.tmux.childPID(named: "cc-bridge-tui"), SIGTSTP)
        } else {
            try s.tmux.send("C-z")
        }
        #expect(try eventually { try s.flatScreen().contains("Stopped") }, "the shell reports the stopped job: screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 5) { try s.tmux.paneInfo(ShellTUISession.modes) == "0 0 0 1 0" },
                "alternate screen, mouse, SGR mouse, cursor, keypad: \((try? s.tmux.paneInfo(ShellTUISession.modes)) ?? "?")")
        let flags = try s.ttyFlags()
        #expect(flags.isSuperset(of: ["icanon", "echo", "isig"]), "cooked tty: \(flags.sorted())")
        // Typing in the shell echoes; a bracketed paste arrives as plain text (no ESC[200~ around it).
        try s.tmux.send("echo typed-in-shell", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("$ echo typed-in-shell\ntyped-in-shell"), "screen:\n\(s.tmux.dump)")
        try s.tmux.tmux(["set-buffer", "echo pasted-in-shell"])
        try s.tmux.tmux(["paste-buffer", "-p", "-t", s.tmux.session])
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("\npasted-in-shell"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("200~"), "bracketed paste was left on: screen:\n\(s.tmux.dump)")
        // fg: every mode back, the shell's lines painted over, keys work without Enter.
        try s.tmux.send("fg", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 5) { try !s.flatScreen().contains("typed-in-shell") }, "screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 5) { try s.tmux.paneInfo(ShellTUISession.modes) == "1 1 1 0 1" },
                "modes after fg: \((try? s.tmux.paneInfo(ShellTUISession.modes)) ?? "?")")
        try s.tmux.send("Tab")
        try s.tmux.send("after fg", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: after fg"), "screen:\n\(s.tmux.dump)")
    }

    /// Ctrl-Z is a key, not the tty's suspend character: a 0x1A byte inside a bracketed paste is
    /// pasted text and never stops the TUI (nor flushes the rest of the paste into the shell).
    @Test func aSubByteInsideAPasteDoesNotSuspend() throws {
        let s = try ShellTUISession()
        try s.start()
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        let pid = try s.tmux.childPID(named: "cc-bridge-tui")
        try s.tmux.send("Tab")
        try s.tmux.tmux(["set-buffer", "before\u{1A}after paste"])
        try s.tmux.tmux(["paste-buffer", "-p", "-t", s.tmux.session])
        #expect(try s.tmux.waitFor("after paste"), "the whole paste arrives: screen:\n\(s.tmux.dump)")
        usleep(300_000)
        let state = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: " ").dropFirst(2).first
        #expect(state != "T", "the TUI stopped on a pasted 0x1A")
        #expect(try !s.flatScreen().contains("Stopped"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo("#{alternate_on} #{mouse_any_flag}") == "1 1")
    }

    /// SIGSTOP cannot be caught: the TUI learns of it only from SIGCONT. Meanwhile the shell reset
    /// the tty (as bash does; here `stty sane` by hand). After `fg`: raw mode (no echo, no Enter
    /// needed, Ctrl-C a key, not SIGINT), every mode back, and the shell's lines painted over.
    @Test func afterSigstopAndFgTheTUIIsBackInRawModeAndRepainted() throws {
        let s = try ShellTUISession()
        try s.start()
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        let pid = try s.tmux.childPID(named: "cc-bridge-tui")
        kill(pid, SIGSTOP)
        #expect(try eventually { try s.flatScreen().contains("Stopped") }, "screen:\n\(s.tmux.dump)")
        try s.tmux.send("stty sane", literal: true)
        try s.tmux.send("C-j")   // the tty is still raw here: Enter would be a bare CR
        try s.tmux.send("fg", literal: true)
        try s.tmux.send("Enter")
        #expect(try eventually(timeout: 10) {
            let screen = try s.flatScreen()
            return screen.contains("─ prompt → bot") && !screen.contains("Stopped") && !screen.contains("stty sane")
        }, "the screen is repainted: screen:\n\(s.tmux.dump)")
        let flags = try s.ttyFlags()
        #expect(flags.isSuperset(of: ["-icanon", "-echo"]), "raw mode again: \(flags.sorted())")
        #expect(try eventually(timeout: 5) { try s.tmux.paneInfo(ShellTUISession.modes) == "1 1 1 0 1" },
                "modes after fg: \((try? s.tmux.paneInfo(ShellTUISession.modes)) ?? "?")")
        try s.tmux.send("Tab")
        try s.tmux.send("typed after stop", literal: true)
        #expect(try s.tmux.waitFor("> typed after stop"), "keys arrive without Enter: screen:\n\(s.tmux.dump)")
        try s.tmux.send("C-c")   // clears the prompt box; does not end the TUI
        #expect(try eventually(timeout: 5) { try !s.tmux.screen().contains("typed after stop") }, "screen:\n\(s.tmux.dump)")
        #expect(kill(pid, 0) == 0, "Ctrl-C must not be SIGINT")
        try s.tmux.send("after stop", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: after stop"), "screen:\n\(s.tmux.dump)")
    }

    /// Without a locale (or LC_ALL=C) the terminal still gets UTF-8: borders and non-ASCII output.
    @Test(arguments: [["env", "-u", "LANG", "-u", "LC_ALL", "-u", "LC_CTYPE"], ["env", "LC_ALL=C"]])
    func utf8IsDrawnWithoutAUTF8Locale(prefix: [String]) throws {
        let s = try ShellTUISession()
        try s.start(prefix: prefix)
        #expect(try s.tmux.waitFor("─ prompt → bot"), "borders: screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("│"))
        try s.sendThroughCLI("héllo wörld ─ 日本語 ✓")
        #expect(try s.tmux.waitFor("echo: héllo wörld ─ 日本語 ✓"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("drawing ASCII"))
    }

    /// A locale naming another character set means a terminal that is not UTF-8: ASCII stand-ins,
    /// nothing blank, and the status line says so.
    @Test func aNonUTF8TerminalGetsASCIIAndANotice() throws {
        let s = try ShellTUISession(size: (140, 30))
        try s.start(prefix: ["env", "-u", "LC_ALL", "-u", "LC_CTYPE", "LANG=de_DE.ISO-8859-1"])
        #expect(try s.tmux.waitFor("- prompt > bot ---"), "ASCII borders: screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("drawing ASCII"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("de_DE.ISO-8859-1"))
        try s.sendThroughCLI("héllo wörld ─ 日本語")
        #expect(try s.tmux.waitFor("echo: hello world - ??????"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains { $0.unicodeScalars.contains { $0.value > 0x7E } },
                "only ASCII on screen:\n\(s.tmux.dump)")
    }

    /// A terminal the TUI cannot drive gets a message that says what to do, not garbage.
    @Test(arguments: [
        (["env", "-u", "TERM"], "TERM is not set"),
        (["env", "TERM=nosuch-terminal"], "TERM=nosuch-terminal is not in the terminfo database"),
        (["env", "TERM=dumb"], "TERM=dumb cannot move the cursor"),
    ])
    func aTerminalWithoutTheNeededCapabilitiesGetsAClearMessage(prefix: [String], message: String) throws {
        let s = try ShellTUISession()
        try s.start(prefix: prefix, suffix: "; echo EXITED $?")
        #expect(try s.tmux.waitFor("EXITED 1"), "screen:\n\(s.tmux.dump)")
        let screen = try s.tmux.screen().replacingOccurrences(of: "\n", with: "")
        #expect(screen.contains(message), "screen:\n\(s.tmux.dump)")
        let modes = try s.tmux.paneInfo(ShellTUISession.modes)
        #expect(modes == "0 0 0 1 0", "modes \(modes), screen:\n\(s.tmux.dump)")
    }
}
