// SessionViewTests: restored history in the scrollback, the outbox overlay, the turn-history
// overlay and the live health panel, through the reducer and 80x24 snapshots.

import Testing
@testable import BridgeCore
@testable import BridgeTUI

@Suite struct SessionViewTests {
    static let t0 = 1_700_000_000.0

    static func turn(_ id: String, _ prompt: String, _ response: String, _ status: TurnStatus, at: Double,
                     ttfb: Double? = nil, duration: Double? = nil, error: String? = nil) -> Turn {
        var turn = Turn(id: id, prompt: prompt, sentAt: at, status: status)
        turn.response = response
        turn.firstByteAt = ttfb.map { at + $0 }
        turn.doneAt = duration.map { at + $0 }
        turn.error = error
        return turn
    }

    static func restored() -> Harness {
        var h = Harness()
        h.send(.historyRestored(instance: "api", turns: [
            turn("a1", "list the files", "README.md\nPackage.swift\n", .completed, at: t0 - 100, ttfb: 1.2, duration: 4.5),
            turn("a2", "and now?", "work", .failed, at: t0 - 50, ttfb: 0.5, duration: 2,
                 error: "cc-bridge-tui stopped before the turn finished"),
        ], inputs: ["list the files", "and now?"], queue: [OutboxEntry(id: "q1", text: "are you there?", queuedAt: t0 - 10)]))
        return h
    }

    @Test func restoredHistoryComesBeforeLiveOutput() {
        var h = SessionViewTests.restored()
        h.output("api", ["live line"])
        #expect(Array(h.outputRows.prefix(9)) == [
            "── earlier conversation: 2 turns from history ──",
            "❯ list the files",
            "README.md",
            "Package.swift",
            "❯ and now?",
            "work",
            "[failed: cc-bridge-tui stopped before the turn finished]",
            "── end of history; live output below ──",
            "live line",
        ])
        // The prompt line is bold, the response dim.
        let buffer = h.buffer()
        let col = h.state.layout.output.col
        #expect(buffer[2, col + 2].style.attrs.contains(.bold))
        #expect(buffer[3, col].style.attrs.contains(.dim))
        // Turn rows point at their prompt lines; ↑ walks the restored prompt history.
        #expect(h.active.turns.map(\.line) == [1, 4])
        #expect(h.active.turns.allSatisfy { $0.restored })
        #expect(h.active.queued == 1)
        h.press("enterPrompt")
        h.press("historyPrevious")
        #expect(h.active.prompt.text == "and now?")
    }

    @Test func notListeningQueuesClearsThePromptAndCountsInTheList() {
        var h = PromptTests.focused()
        h.type("nobody listens")
        let effects = h.press("submitPrompt")
        #expect(effects == [.send(instance: "api", promptID: "p1", text: "nobody listens")])
        h.send(.sendQueued(instance: "api", promptID: "p1", reason: "agent not listening"))
        h.send(.outboxChanged(instance: "api", entries: [OutboxEntry(id: "p1", text: "nobody listens", queuedAt: h.state.now)]))
        #expect(h.active.prompt.isEmpty)
        #expect(h.active.inFlight.isEmpty)
        let screen = h.screen()
        #expect(screen[23] == " queued for api: agent not listening; will be delivered when it reads again")
        #expect(screen[0].hasPrefix(" ○ api            q1│"))
        // Another failure still keeps the text (see ScenarioTests.failedSendKeepsTextAndSaysWhy).
        h.type("again")
        h.press("submitPrompt")
        h.send(.sendResult(instance: "api", promptID: "p2", error: "in-FIFO is not a FIFO"))
        #expect(h.active.prompt.text == "again")
    }

    @Test func outboxOverlaySnapshotAndCancel() {
        var h = SessionViewTests.restored()
        h.send(.outboxChanged(instance: "api", entries: [
            OutboxEntry(id: "q1", text: "are you there?", queuedAt: SessionViewTests.t0 - 10),
            OutboxEntry(id: "q2", text: "second\nwith two lines", queuedAt: SessionViewTests.t0 - 5),
        ]))
        h.press("toggleOutbox")
        #expect(h.state.focus == .outbox)
        let screen = h.screen()
        #expect(Array(screen[1...5]) == [
            " ○┌─ Queued for api: 2 (x cancels, Esc closes) ──────────────────────────────┐",
            "  │ delivered in this order as soon as the agent reads again                 │",
            "  │ ▌1. 22:13:10  are you there?                                             │",
            "  │  2. 22:13:15  second ⏎ with two lines                                    │",
            "  │                                                                          │",
        ])
        #expect(screen[23] == " j next  k previous  x cancel  Esc close")
        h.press("scrollDown")
        #expect(h.press("cancelQueued") == [.cancelQueued(instance: "api", id: "q2")])
        h.press("closeOverlay")
        #expect(h.state.focus == .list)
    }

    @Test func turnsOverlayJumpsAndResends() {
        var h = SessionViewTests.restored()
        h.numbered("api", 1...100)
        h.press("toggleTurns")
        let screen = h.screen()
        #expect(Array(screen[1...4]) == [
            " ○┌─ Turns of api (Enter jumps, R re-sends, Esc closes) ─────────────────────┐",
            "  │   status       sent      first  total  prompt                            │",
            "  │  ● completedʰ  22:11:40  1.2s   4.5s   list the files                    │",
            "  │ ▌✖ failedʰ     22:12:30  0.5s   2.0s   and now?                          │",
        ])
        h.press("scrollUp")
        h.press("jumpToTurn")
        #expect(h.state.focus == .list)
        #expect(h.outputRows.first == "❯ list the files")
        #expect(!h.active.view.follow)
        h.press("toggleTurns")
        #expect(h.press("resendTurn").isEmpty)   // asks first (tui.confirm)
        #expect(h.state.status?.text == "re-send \"and now?\" to api? y/n")
        #expect(h.key("y") == [.send(instance: "api", promptID: "p1", text: "and now?")])
        // A live turn starts where its prompt was sent; once trimmed, jumping says so.
        h.send(.turnsChanged(instance: "api", turns: [SessionViewTests.turn("p1", "and now?", "", .pending, at: SessionViewTests.t0)]))
        #expect(h.active.turns.last?.line == h.active.endLine)
        h.press("clearPane")
        h.press("toggleTurns")
        h.press("jumpToTurn")
        #expect(h.state.status?.text == "that turn's start was trimmed from the scrollback (or cleared)")
    }

    @Test func healthPanelShowsTrendUptimeAndRecoveries() {
        var h = Harness()
        let report = HealthReport(enabled: true, state: .unhealthy, reason: "", checkedAt: SessionViewTests.t0, run: 3, components: [
            ComponentReport(name: "fifo_pipes", kind: .global, state: .healthy, reason: "/tmp/ccb: mode 700, 4 FIFOs",
                            checks: [], consecutiveFailures: 0, recoveryAttempts: 0, lastRecovery: nil, managed: false,
                            firstSeen: SessionViewTests.t0 - 90, uptime: 90, trend: [.healthy, .healthy, .healthy]),
            ComponentReport(name: "api", kind: .instance, state: .unhealthy, reason: "agent: no agent is reading the in-FIFO",
                            checks: [], consecutiveFailures: 2, recoveryAttempts: 1, lastRecovery: "asked to reopen the pipes",
                            managed: false, firstSeen: SessionViewTests.t0 - 3700, uptime: 3700, trend: [.healthy, .degraded, .unhealthy]),
        ])
        let rows = HealthRows.rows(report)
        #expect(rows.map(\.component) == ["fifo_pipes", "api"])
        #expect(rows[1].detail == "last recovery: asked to reopen the pipes")
        #expect(HealthRows.perInstance(report) == ["api": InstanceHealth(.unhealthy, reason: "agent: no agent is reading the in-FIFO")])
        h.send(.healthUpdated(rows, perInstance: HealthRows.perInstance(report)))
        h.press("toggleHealth")
        let screen = h.screen()
        #expect(Array(screen[18...20]) == [
            "─ Health ─● healthy ◐ degraded ✖ unhealthy ○ unknown ───────────────────────────",
            " ● fifo_pipes healthy          ●●● up 1m       /tmp/ccb: mode 700, 4 FIFOs",
            " ✖ api        unhealthy        ●◐✖ up 1h rec 1 agent: no agent is reading the in",
        ])
        #expect(screen[0].hasPrefix("▌✖ api"))
        // Uptime counts on between checks (it stood at the last check's figure: "up 0s" for half
        // a minute in the demo).
        h.send(.tick(now: SessionViewTests.t0 + 600))
        #expect(h.screen()[19] == " ● fifo_pipes healthy          ●●● up 11m      /tmp/ccb: mode 700, 4 FIFOs",
                "screen:\n\(h.screen().joined(separator: "\n"))")
        // Disabled: the panel says so.
        var off = Harness()
        off.state.healthEnabled = false
        off.press("toggleHealth")
        #expect(off.screen()[20] == " health checks are disabled (docker.health.enabled: false)")
    }

    /// Seen in the demo: crashy's agent removes its pipes when it crashes and its supervisor makes
    /// them again a second later; meanwhile crashy jumped to the bottom of the list and back.
    @Test func anInstanceWhosePipesVanishKeepsItsPlaceInTheList() {
        var h = Harness(instances: ["chatty", "crashy", "slow"])
        h.output("crashy", ["I am about to crash"])
        func info(_ name: String) -> InstanceInfo {
            InstanceInfo(name: name, inPath: "/tmp/ccb/\(name).in.fifo", outPath: "/tmp/ccb/\(name).out.fifo", status: .ready)
        }
        h.send(.instancesChanged([info("chatty"), info("slow")]))
        #expect(h.state.instances.map(\.name) == ["chatty", "crashy", "slow"])
        #expect(h.state.instances[1].isPresent == false)
        #expect(h.screen()[1].hasPrefix(" ○ crashy"), "screen:\n\(h.screen().joined(separator: "\n"))")
        h.send(.instancesChanged([info("chatty"), info("crashy"), info("slow")]))
        #expect(h.state.instances.map(\.name) == ["chatty", "crashy", "slow"])
        #expect(h.state.instances[1].isPresent)
        // One that was first stays first.
        h.output("chatty", ["hello"])
        h.send(.instancesChanged([info("crashy"), info("slow")]))
        #expect(h.state.instances.map(\.name) == ["chatty", "crashy", "slow"])
        #expect(h.state.instances[0].isPresent == false)
    }

    /// Seen on a restarted agent: `up 33s rec 2all checks healthy` (the facts filled their column).
    @Test func healthFactsThatFillTheirColumnStillLeaveASpaceBeforeTheReason() {
        var h = Harness()
        let report = HealthReport(enabled: true, state: .healthy, reason: "", checkedAt: SessionViewTests.t0, run: 3, components: [
            ComponentReport(name: "api", kind: .instance, state: .healthy, reason: "all checks healthy",
                            checks: [], consecutiveFailures: 0, recoveryAttempts: 2, lastRecovery: nil,
                            managed: false, firstSeen: SessionViewTests.t0 - 33, uptime: 33, trend: [.healthy, .unhealthy, .healthy]),
        ])
        h.send(.healthUpdated(HealthRows.rows(report), perInstance: HealthRows.perInstance(report)))
        h.press("toggleHealth")
        #expect(h.screen().contains(" ● api        healthy          ●✖● up 33s rec 2 all checks healthy"), "screen:\n\(h.screen().joined(separator: "\n"))")
    }
}
