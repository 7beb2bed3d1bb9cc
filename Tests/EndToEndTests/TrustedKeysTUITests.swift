// TrustedKeysTUITests: the real binary in tmux (issue 12): keys act on what the screen names.

import Foundation
import Testing

@Suite(.serialized) struct TrustedKeysTUITests {
    /// The first screen row with its SGR attributes (tmux `capture-pane -e`).
    static func styledRow(_ s: TUISession, _ row: Int) throws -> String {
        let lines = try s.tmux.tmux(["capture-pane", "-e", "-p", "-t", s.tmux.session]).stdout.components(separatedBy: "\n")
        return row < lines.count ? lines[row] : ""
    }

    /// The parameters of the first SGR sequence of a captured row (the list's selected row).
    static func firstSGR(_ row: String) -> [String] {
        guard let start = row.range(of: "\u{1B}["), let end = row[start.upperBound...].firstIndex(of: "m") else { return [] }
        return row[start.upperBound..<end].split(separator: ";").map(String.init)
    }

    /// `G j i "hi beta"` Enter after focusing the output pane: `j` scrolls that pane, so the prompt
    /// goes to the instance the pane shows, which the prompt names and the dimmed list selection
    /// (the list does not have focus) makes visible.
    @Test func typedPromptGoesToTheInstanceThePromptNames() throws {
        let s = try TUISession(instances: ["alpha", "beta"], agentOn: ["alpha", "beta"])
        #expect(try s.tmux.waitFor("beta"))
        try s.tmux.send("l")                 // focus the output pane (as a click on it does)
        try s.tmux.send("G")
        try s.tmux.send("j")
        let dimmed = try eventually { TrustedKeysTUITests.firstSGR(try TrustedKeysTUITests.styledRow(s, 0)).contains("2") }
        #expect(dimmed, "the list's selection is dimmed while the output pane has focus:\n\((try? TrustedKeysTUITests.styledRow(s, 0))?.debugDescription ?? "")")
        try s.tmux.send("i")
        #expect(try s.tmux.waitFor("─ prompt → alpha"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("hi beta", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: hi beta"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("─ prompt → alpha"))
        // beta received nothing.
        try s.tmux.send("Escape")            // leave the prompt: back to the output pane
        #expect(try s.tmux.waitFor("> i to type a prompt"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("BTab")              // Shift-Tab: to the list
        try s.tmux.send("j")
        #expect(try s.tmux.waitFor("─ prompt → beta"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("echo: hi beta"), "screen:\n\(s.tmux.dump)")
    }
}

extension TrustedKeysTUITests {
    /// `q` in the help used to quit the whole program; Esc, `q` and `?` now close it.
    @Test func qEscAndQuestionMarkCloseTheHelpWithoutQuitting() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        for key in ["q", "Escape", "?"] {
            try s.tmux.send("?")
            #expect(try s.tmux.waitFor("Show or hide this help"), "screen:\n\(s.tmux.dump)")
            try s.tmux.send(key)
            #expect(try eventually { try !s.tmux.screen().contains("Show or hide this help") }, "\(key): \(s.tmux.dump)")
            usleep(300_000)
            #expect(try !s.tmux.screen().contains("EXITED"), "\(key) quit the program:\n\(s.tmux.dump)")
            #expect(!s.tmux.paneDead)
        }
        #expect(try s.tmux.waitFor("─ prompt → bot"))
    }
}

extension TrustedKeysTUITests {
    /// A sentence typed while the list has focus goes into the prompt instead of running
    /// l (focus output), o (outbox), t (timestamps), … one letter at a time.
    @Test func aSentenceTypedOutsideThePromptLandsInThePrompt() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        try s.tmux.send("hello there", literal: true)
        #expect(try s.tmux.waitFor("> hello there"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("─ prompt → bot"))
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: hello there"), "screen:\n\(s.tmux.dump)")
    }
}

extension TrustedKeysTUITests {
    /// "can you fix it" typed with the list focused cleared the pane (`c`), attached (`a`) and
    /// left "n you fix it" in the prompt. Read in one go (tmux sends it as one write), it is a
    /// sentence: the selected instance's prompt holds all of it and nothing ran.
    @Test func canYouFixItWithTheListFocusedRunsNoCommand() throws {
        let s = try TUISession(instances: ["alpha", "beta"], agentOn: ["alpha", "beta"])
        #expect(try s.tmux.waitFor("beta"))
        try s.tmux.send("j")
        #expect(try s.tmux.waitFor("─ prompt → beta"), "screen:\n\(s.tmux.dump)")
        try s.emit("beta", "earlier output of beta\n")
        #expect(try s.tmux.waitFor("earlier output of beta"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("can you fix it", literal: true)
        #expect(try s.tmux.waitFor("> can you fix it"), "screen:\n\(s.tmux.dump)")
        // One capture that shows the prompt holds all three facts (a capture can come back empty
        // on a loaded machine, so it is polled).
        let whole = try eventually {
            let screen = try s.tmux.screen()
            return screen.contains("> can you fix it") && screen.contains("─ prompt → beta")
                && screen.contains("earlier output of beta") && screen.contains(" alpha")
        }
        #expect(whole, "cleared, attached or typed elsewhere:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("cleared beta"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: can you fix it"), "screen:\n\(s.tmux.dump)")
    }
}
