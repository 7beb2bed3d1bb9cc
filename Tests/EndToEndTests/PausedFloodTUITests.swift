// PausedFloodTUITests: the real binary in tmux, paused while a flood pushes old lines past a
// small line limit (tui.scrollback_lines: 100): the pane stays full, the oldest line kept sits
// under a marker that counts the dropped lines, and the "new lines" count stays bounded.

import Foundation
import Testing

@Suite(.serialized) struct PausedFloodTUITests {
    /// The output pane's rows: right of the list border, above the prompt separator.
    static func outputRows(_ lines: [String]) -> [String] {
        guard let separator = lines.firstIndex(where: { $0.contains("─ prompt →") }) else { return [] }
        return lines[1..<separator].map { line in
            guard let border = line.firstIndex(of: "│") else { return "" }
            return line[line.index(after: border)...].trimmingCharacters(in: .whitespaces)
        }
    }

    @Test func pausedPaneStaysFullAndCountsWhatAFloodDropped() throws {
        let scratch = Scratch()
        let config = scratch.file("config.yaml")
        try "tui:\n  scrollback_lines: 100\n".write(toFile: config, atomically: true, encoding: .utf8)
        let s = try TUISession(instances: ["bot"], agentOn: [], arguments: ["--config", config])
        // An agent's read end on the in-FIFO, so the hub sees an agent all along: on a loaded
        // machine its "agent exited" / "agent back" marker lines otherwise land among the flood
        // and shift every count below by one each.
        let agentEnd = open(s.pipes + "/bot.in.fifo", O_RDONLY | O_NONBLOCK)
        #expect(agentEnd >= 0)
        defer { close(agentEnd) }
        #expect(try s.tmux.waitFor("─ prompt → bot"), "screen:\n\(s.tmux.dump)")
        try s.emit("bot", (1...100).map { "line \($0)\n" }.joined())
        #expect(try s.tmux.waitFor("line 100"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("l")   // the output pane
        try s.tmux.send("k")   // one row up: paused
        #expect(try s.tmux.waitFor("paused, 0 new lines"), "screen:\n\(s.tmux.dump)")

        try s.emit("bot", (101...5_000).map { "line \($0)\n" }.joined())
        #expect(try s.tmux.waitFor("paused, 100 new lines, 4,900 dropped"), "screen:\n\(s.tmux.dump)")
        let rows = Self.outputRows(try s.tmux.capture())
        #expect(rows.count == 26, "screen:\n\(s.tmux.dump)")
        #expect(rows.first == "── 4,900 lines dropped while paused ──", "screen:\n\(s.tmux.dump)")
        #expect(rows.dropFirst().first == "line 4901", "screen:\n\(s.tmux.dump)")
        #expect(!rows.contains(""), "no blank rows:\n\(s.tmux.dump)")
        #expect(rows.last == "line 4925", "screen:\n\(s.tmux.dump)")
    }
}
