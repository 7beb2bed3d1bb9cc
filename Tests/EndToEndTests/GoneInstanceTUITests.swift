// GoneInstanceTUITests: the real binary in tmux with tui.gone_grace_seconds: 4 (long enough for
// a capture on a loaded machine to catch the "gone" row before it leaves). An instance's
// FIFOs are removed: its row turns "gone", then leaves the list once the grace runs out, and the
// status line says where the selection went.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct GoneInstanceTUITests {
    /// The list rows (left of the border).
    static func listRows(_ lines: [String]) -> [String] {
        lines.compactMap { line in
            guard let border = line.firstIndex(of: "│") else { return nil }
            return String(line[..<border])
        }
    }

    @Test func removedPipesShowGoneThenTheInstanceLeavesAfterTheGrace() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "tui:\n  gone_grace_seconds: 4\n".write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(instances: ["bot", "other"], agentOn: [], arguments: ["--config", config])
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        #expect(try eventually { Self.listRows(try s.tmux.capture()).contains { $0.contains("other") } })
        let unlinkedAt = Date()
        unlink(s.pipes + "/bot.in.fifo")
        unlink(s.pipes + "/bot.out.fifo")
        let gone = try eventually(timeout: 10) {
            Self.listRows(try s.tmux.capture()).contains { $0.contains("bot") && $0.contains("gone") }
        }
        #expect(gone, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("bot removed: its pipes did not come back within 4 s; now showing other", timeout: 15),
                "screen:\n\(s.tmux.dump)")
        // Measured from the unlink, not from when a capture first showed "gone": on a loaded
        // machine that capture can come late, and the removal follows it within moments.
        #expect(Date().timeIntervalSince(unlinkedAt) >= 4, "removed before the 4 s grace ran out")
        #expect(try !Self.listRows(s.tmux.capture()).contains { $0.contains("bot") }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("─ prompt → other"), "screen:\n\(s.tmux.dump)")
    }

    @Test func pipesBackWithinTheGraceKeepTheInstanceAndItsOutput() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "tui:\n  gone_grace_seconds: 30\n".write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(instances: ["bot", "other"], agentOn: [], arguments: ["--config", config])
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        try s.emit("bot", "before the restart\n")
        #expect(try s.tmux.waitFor("before the restart"), "screen:\n\(s.tmux.dump)")
        unlink(s.pipes + "/bot.in.fifo")
        unlink(s.pipes + "/bot.out.fifo")
        #expect(try eventually(timeout: 10) {
            Self.listRows(try s.tmux.capture()).contains { $0.contains("bot") && $0.contains("gone") }
        }, "screen:\n\(s.tmux.dump)")
        _ = try run(try Binaries.tui, ["pipes", "create", "bot", "--pipe-dir", s.pipes])
        #expect(try eventually(timeout: 10) {
            Self.listRows(try s.tmux.capture()).contains { $0.contains("bot") && !$0.contains("gone") }
        }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("before the restart"), "screen:\n\(s.tmux.dump)")
    }
}
