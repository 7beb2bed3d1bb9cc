// ThemeAndOptionsTests: the real binary (issue 12): every shipped theme works from a copy of the
// binary placed anywhere, an unknown theme is a warning, shared options go before or after the
// subcommand.

import Foundation
import Testing

@Suite(.serialized) struct ThemeAndOptionsTests {
    /// A copy of cc-bridge-tui in a directory with no themes/ near it, started in tmux.
    @Test func aCopiedBinaryHasAllFiveThemesAndAnUnknownOneFallsBack() throws {
        let scratch = Scratch()
        let bin = scratch.file("elsewhere")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let copy = bin + "/cc-bridge-tui"
        // Copied by `cp`, not in this process: a child another test forks meanwhile would inherit
        // our write descriptor of the copy, and exec'ing it would fail with "Text file busy".
        #expect(try run("/bin/cp", [try Binaries.tui, copy]).status == 0)
        let pipes = scratch.file("pipes")
        #expect(try run(copy, ["pipes", "create", "bot", "--pipe-dir", pipes]).status == 0)
        let env = ["HOME": scratch.path, "XDG_STATE_HOME": scratch.file("state"), "XDG_CONFIG_HOME": scratch.file("config"),
                   "TERM": "tmux-256color", "NO_COLOR": ""]   // NO_COLOR would skip the theme
        for theme in ["dark", "light", "high-contrast", "nope"] {
            let session = Scratch()   // a tmux server of its own per run
            let tmux = try Tmux(size: (100, 30),
                                command: ["sh", "-c", "cd \"$0\" && \"$@\" 2>err.txt; echo \"EXITED $?\"; cat err.txt; echo END; sleep 60",
                                          session.path, copy, "--theme", theme, "--pipe-dir", pipes],
                                environment: env, scratch: session)
            #expect(try tmux.waitFor("─ prompt → bot"), "--theme \(theme):\n\(tmux.dump)")
            try tmux.send("q")
            #expect(try tmux.waitFor("END"), "--theme \(theme):\n\(tmux.dump)")
            #expect(try tmux.screen().contains("EXITED 0"), "--theme \(theme):\n\(tmux.dump)")
            let said = try tmux.screen()
            if theme == "nope" {
                #expect(said.contains("warning: theme: theme 'nope' not found"), "\(said)")
                #expect(said.contains("using the default theme"))
            } else {
                #expect(!said.contains("warning"), "--theme \(theme):\n\(said)")
            }
            _ = try? tmux.tmux(["kill-server"])
        }
    }

    @Test func sharedOptionsWorkBeforeOrAfterTheSubcommand() throws {
        let scratch = Scratch()
        let pipes = scratch.file("pipes")
        let tui = try Binaries.tui
        #expect(try run(tui, ["--pipe-dir", pipes, "pipes", "create", "early"]).status == 0)
        #expect(try run(tui, ["pipes", "create", "late", "--pipe-dir", pipes]).status == 0)
        for arguments in [["--pipe-dir", pipes, "list"], ["list", "--pipe-dir", pipes], ["--pipe-dir=\(pipes)", "list"],
                          ["--allow-unsafe-pipes", "--pipe-dir", pipes, "list", "--json"]] {
            let result = try run(tui, arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            #expect(result.stdout.contains("early") && result.stdout.contains("late"), "\(arguments): \(result.stdout)")
        }
    }
}
