// SessionEventTests: the session hub's events on screen: an accepted prompt is a `❯ prompt` line
// in the scrollback exactly as restored history draws it (and in front of the agent's open line),
// the agent's exit and comeback are one marker line each, the activity shows in the title.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct SessionEventTests {
    @Test func acceptedPromptIsARestoredStylePromptLineBeforeTheReply() {
        var h = PromptTests.focused()
        h.output("api", ["banner", "❯ "], open: true)
        h.type("explain this")
        #expect(h.press("submitPrompt") == [.send(instance: "api", promptID: "p1", text: "explain this")])
        let sent = h.state.now
        h.send(.promptAccepted(instance: "api", promptID: "p1", text: "explain this", at: sent))
        // Sent: the prompt box is clear; the agent's bare open `❯ ` line gives way to the prompt
        // line (as a terminal shows what was typed after the marker).
        #expect(h.active.prompt.isEmpty)
        #expect(Array(h.outputRows.prefix(3)) == ["banner", "❯ explain this", ""])
        #expect(!h.active.scrollback.lastIsOpen)
        // Drawn as restored history draws a turn's prompt.
        let restored = HistoryLines.lines(for: Turn(id: "x", prompt: "explain this", sentAt: sent, status: .completed), theme: h.state.theme)
        #expect(h.active.scrollback.line(at: h.active.scrollback.firstLineNumber + 1) == restored[0])
        // The reply starts a line of its own below it; the turn starts at the prompt line.
        h.output("api", ["Sure."])
        #expect(Array(h.outputRows.prefix(3)) == ["banner", "❯ explain this", "Sure."])
        h.send(.turnsChanged(instance: "api", turns: [Turn(id: "p1", prompt: "explain this", sentAt: sent)]))
        #expect(h.active.turns.last?.line == h.active.scrollback.firstLineNumber + 1)
    }

    /// An open line that is more than the bare marker is the agent's own (a reply still being
    /// typed): the prompt line goes in front of it and it keeps growing below.
    @Test func acceptedPromptGoesAboveAnOpenLineThatIsNotABareMarker() {
        var h = PromptTests.focused()
        h.output("api", ["banner", "thinking"], open: true)
        h.send(.promptAccepted(instance: "api", promptID: "p1", text: "next", at: h.state.now))
        #expect(Array(h.outputRows.prefix(3)) == ["banner", "❯ next", "thinking"])
        #expect(h.active.scrollback.lastIsOpen)
    }

    /// Your prompt line is drawn in the theme's `output.prompt` role (it was a fixed cyan bold),
    /// live and restored alike, and carries its time in the timestamp column.
    @Test func promptLinesUseTheThemesPromptRoleAndShowTheirTime() throws {
        let theme = try ThemeLoader.parse("output.prompt = #ff00aa on #101010 underline\n", file: "t.theme", name: "t")
        var h = Harness(instances: ["api", "web"], theme: theme)
        let sent = 3_723.0   // 01:02:03 (the harness has no time zone offset)
        var old = Turn(id: "old", prompt: "from before", sentAt: 3_600, status: .completed)
        old.response = "answer"
        h.send(.historyRestored(instance: "api", turns: [old], inputs: [], queue: []))
        h.send(.promptAccepted(instance: "api", promptID: "p1", text: "explain this", at: sent))
        h.press("toggleTimestamps")
        let layout = h.state.layout
        let rows = h.outputRows
        let restored = try #require(rows.firstIndex { $0.hasSuffix("❯ from before") }, "rows: \(rows)")
        let live = try #require(rows.firstIndex { $0.hasSuffix("❯ explain this") }, "rows: \(rows)")
        #expect(rows[restored] == "01:00:00 ❯ from before")
        #expect(rows[live] == "01:02:03 ❯ explain this")
        let buffer = h.buffer()
        let expected = CellStyle(fg: .rgb(0xff, 0x00, 0xaa), bg: .rgb(0x10, 0x10, 0x10), attrs: [.underline])
        let promptCol = layout.output.col + OutputRows.timestampWidth
        for row in [restored, live] {
            #expect(buffer[layout.output.row + row, promptCol].text == "❯")
            #expect(buffer[layout.output.row + row, promptCol].style == expected)
        }
        // The restored reply under it keeps its own (dim) style.
        let reply = try #require(rows.firstIndex { $0.hasSuffix("answer") })
        #expect(buffer[layout.output.row + reply, promptCol].style.attrs == [.dim])
    }

    @Test func agentExitAndComebackAreOneMarkerLineEachAndActivityIsInTheTitle() {
        var h = PromptTests.focused()
        h.output("api", ["working on it"])
        let turn = Turn(id: "p1", prompt: "long job", sentAt: h.state.now, status: .interrupted)
        h.send(.turnsChanged(instance: "api", turns: [turn]))
        h.send(.agentLifecycle(instance: "api", change: .exited(interrupted: turn, why: .noReader), at: h.state.now))
        h.send(.activityChanged(instance: "api", activity: .agentDown))
        #expect(h.outputRows.contains("── agent exited · turn 1 interrupted ──"))
        #expect(h.screen()[0].contains("agent down"))
        h.send(.agentLifecycle(instance: "api", change: .seen, at: h.state.now))
        h.send(.agentLifecycle(instance: "api", change: .back(restarted: true), at: h.state.now))
        h.send(.activityChanged(instance: "api", activity: .agentRestarted))
        #expect(h.outputRows.filter { $0.hasPrefix("──") } == ["── agent exited · turn 1 interrupted ──", "── agent back (restarted) ──"])
        #expect(h.screen()[0].contains("agent restarted"))
    }
}
