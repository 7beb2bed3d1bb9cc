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
        // Sent: the prompt box is clear; the line sits in front of the agent's open `❯ ` line.
        #expect(h.active.prompt.isEmpty)
        #expect(Array(h.outputRows.prefix(3)) == ["banner", "❯ explain this", "❯"])
        #expect(h.active.scrollback.lastIsOpen)
        // Drawn as restored history draws a turn's prompt.
        let restored = HistoryLines.lines(for: Turn(id: "x", prompt: "explain this", sentAt: sent, status: .completed))
        #expect(h.active.scrollback.line(at: h.active.scrollback.firstLineNumber + 1) == restored[0])
        // The reply continues the open line below it; the turn starts at the prompt line.
        h.output("api", ["❯ Sure."], replacesLast: true)
        #expect(Array(h.outputRows.prefix(3)) == ["banner", "❯ explain this", "❯ Sure."])
        h.send(.turnsChanged(instance: "api", turns: [Turn(id: "p1", prompt: "explain this", sentAt: sent)]))
        #expect(h.active.turns.last?.line == h.active.scrollback.firstLineNumber + 1)
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
