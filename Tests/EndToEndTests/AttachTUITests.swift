// AttachTUITests (issue 12): `cc-bridge-tui attach NAME` behaves like `cc-bridge claude-attach`:
// detaching leaves the program (the terminal given back), unless `--stay` is given; the title
// names the protocol.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct AttachTUITests {
    @Test func detachingFromAttachNameLeavesTheProgram() throws {
        let s = try TUISession(arguments: ["attach", "bot"])
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        // The title names the protocol once the agent is seen; the test's python agent can take
        // long to start when the whole suite runs at once (20 s were not enough there once).
        #expect(try s.tmux.waitFor("plain protocol", timeout: 60), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("Ctrl-] detach"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("half typed", literal: true)
        try s.tmux.send("C-]")   // from the prompt
        #expect(try s.tmux.waitFor("EXITED 0"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("other"), "the list was shown:\n\(s.tmux.dump)")
    }

    @Test func withStayDetachingReturnsToTheList() throws {
        let s = try TUISession(arguments: ["attach", "bot", "--stay"])
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("C-]")
        #expect(try s.tmux.waitFor("other"), "screen:\n\(s.tmux.dump)")
        #expect(try !s.tmux.screen().contains("EXITED"), "screen:\n\(s.tmux.dump)")
    }
}
