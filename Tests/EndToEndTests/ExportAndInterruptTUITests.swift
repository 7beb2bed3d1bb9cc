// ExportAndInterruptTUITests (issue 12): `s` saves the scrollback under the state directory and
// says the full path (a second save in the same second gets a name of its own); `x` on an upstream-style plain agent sends nothing (that agent would get
// "^C" as a prompt line) and says the agent cannot be interrupted.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ExportAndInterruptTUITests {
    @Test func saveGoesUnderTheStateDirectoryAndTheStatusSaysTheFullPath() throws {
        let s = try TUISession(size: (220, 30))
        #expect(try s.tmux.waitFor("other"))
        try s.emit("bot", "first line\nsecond line\n")
        #expect(try s.tmux.waitFor("second line"))
        try s.tmux.send("s")
        let exports = s.scratch.file("state") + "/cc-bridge-tui/exports"
        #expect(try s.tmux.waitFor("saved 2 lines to \(exports)/cc-bridge-bot-"), "screen:\n\(s.tmux.dump)")
        let saved = (try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []
        #expect(saved.count == 1 && saved[0].hasPrefix("cc-bridge-bot-"), "exports: \(saved)")
        if let name = saved.first {
            let text = try String(contentsOfFile: exports + "/" + name, encoding: .utf8)
            #expect(text.contains("first line\nsecond line"))
        }
        // Nothing in the directory the TUI was started in (the scratch directory).
        let started = try FileManager.default.contentsOfDirectory(atPath: s.scratch.path)
        #expect(!started.contains { $0.hasPrefix("cc-bridge-bot-") }, "files: \(started)")

        // Two more saves at once (names are to the second): each its own file, none replaced.
        try s.emit("bot", "third line\n")
        #expect(try s.tmux.waitFor("third line"))
        try s.tmux.send("s")
        try s.tmux.send("s")
        // A name is claimed (empty) before its text is renamed over it: wait for the text, not the name.
        func withThird() -> [String] {
            let all = ((try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []).sorted()
            return all.filter { ((try? String(contentsOfFile: exports + "/" + $0, encoding: .utf8)) ?? "").contains("third line") }
        }
        #expect(eventually { withThird().count == 2 },
                "with the third line: \(withThird())\nscreen:\n\(s.tmux.dump)")
        let all = ((try? FileManager.default.contentsOfDirectory(atPath: exports)) ?? []).sorted()
        #expect(all.count == 3, "exports: \(all)")
    }

    @Test func interruptOnAnUpstreamPlainAgentSendsNothingAndSaysSo() throws {
        let s = try TUISession()
        #expect(try s.tmux.waitFor("other"))
        try s.tmux.send("x")   // `bot`, served by the upstream-style agent, is selected
        // `x` asks first, naming the instance (tui.confirm); `y` answers.
        #expect(try s.tmux.waitFor("interrupt bot's reply? y/n"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("y")
        #expect(try s.tmux.waitFor("this agent cannot be interrupted"), "screen:\n\(s.tmux.dump)")
        // The upstream-style agent echoes every line it gets: a 0x03 would come back as a reply.
        usleep(1_500_000)
        #expect(try !s.tmux.screen().contains("echo:"), "screen:\n\(s.tmux.dump)")
    }
}
