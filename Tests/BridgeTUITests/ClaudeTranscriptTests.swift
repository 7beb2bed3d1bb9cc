// ClaudeTranscriptTests: what a Claude stream-json session looks like in the TUI, driven through
// the reducer and rendered at a fixed size: tool calls as one line each with their outcome and
// the result collapsed (expanded in place by a key), the footer, the text's structure in theme
// roles, activity and cost in the list, approvals from the overlay and from the list (nothing
// approved by default), notifications and the title count, and a hostile frame that cannot reach
// the terminal.

import Testing
import BridgeCore
@testable import BridgeTUI

extension Harness {
    mutating func claude(_ instance: String, _ frame: ClaudeFrame) -> [Effect] {
        send(.claude(instance: instance, frame: frame, at: state.now))
    }

    mutating func turn(_ instance: String, id: String, prompt: String) {
        send(.promptAccepted(instance: instance, promptID: id, text: prompt, at: state.now))
        send(.turnsChanged(instance: instance, turns: [Turn(id: id, prompt: prompt, sentAt: state.now, status: .pending)]))
    }

    mutating func endTurn(_ instance: String, id: String, prompt: String, status: TurnStatus = .completed) -> [Effect] {
        var turn = Turn(id: id, prompt: prompt, sentAt: state.now, status: status)
        turn.doneAt = state.now + 1
        return send(.turnsChanged(instance: instance, turns: [turn]))
    }
}

let sampleResult = TurnResultInfo(subtype: "success", isError: false, durationMs: 4200, inputTokens: 1000, outputTokens: 340,
                                  cacheReadTokens: 200, cacheWriteTokens: 0, costUSD: 0.0123, sessionCostUSD: 0.0456)

@Suite struct ClaudeTranscriptTests {
    /// Two tool calls, text around them and the result: one line per call with its outcome and
    /// duration, the result a count of lines (expandable with `e`), and a footer.
    @Test func aTurnWithTwoToolCallsReadsAsATranscriptWithItsFooter() {
        var h = Harness(rows: 24, cols: 100)
        h.turn("api", id: "t1", prompt: "run the tests")
        h.output("api", ["## Plan", "- run them", "```", "npm test", "```", "Running."])
        h.claude("api", .toolUse(id: "t1", ToolUseInfo(toolID: "u1", name: "Bash", summary: "npm test")))
        #expect(h.outputRows.contains { $0.hasPrefix("⏺ Bash  npm test  …") }, "rows: \(h.outputRows)")
        h.state.now += 2.1
        h.claude("api", .toolResult(id: "t1", ToolResultInfo(toolID: "u1", isError: false, bytes: 30, lines: 12,
                                                             excerpt: "PASS one\nPASS two\n")))
        h.claude("api", .toolUse(id: "t1", ToolUseInfo(toolID: "u2", name: "Read", summary: "src/main.rs")))
        h.state.now += 0.4
        h.claude("api", .toolResult(id: "t1", ToolResultInfo(toolID: "u2", isError: true, bytes: 9, lines: 1, excerpt: "no such file")))
        h.output("api", ["All green."])
        h.claude("api", .result(id: "t1", sampleResult))
        let rows = h.outputRows.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        #expect(rows == ["❯ run the tests", "## Plan", "- run them", "```", "npm test", "```", "Running.",
                         "⏺ Bash  npm test  ✔ 2.1 s  ⎿ 12 lines", "⏺ Read  src/main.rs  ✘ 0.4 s  ⎿ 1 line", "All green.",
                         "✻ 4.2 s · 1.2k in · 340 out · $0.0123"], "rows: \(rows)")
        // Structure in theme roles: the heading, the list item, the code.
        let buffer = h.buffer()
        let layout = h.state.layout
        func style(ofRowStarting prefix: String) -> CellStyle? {
            let lines = buffer.textLines()
            guard let row = (layout.output.row..<(layout.output.row + layout.output.rows)).first(where: {
                String(Array(lines[$0]).dropFirst(layout.output.col)).hasPrefix(prefix) }) else { return nil }
            return buffer[row, layout.output.col].style
        }
        let theme = h.state.theme
        #expect(style(ofRowStarting: "## Plan") == theme.style(for: theme.textStyle(.outputHeading), base: theme.style(.outputFg, on: .outputBg)))
        #expect(style(ofRowStarting: "- run") == theme.style(for: theme.textStyle(.outputList), base: theme.style(.outputFg, on: .outputBg)))
        #expect(style(ofRowStarting: "npm test") == theme.style(for: theme.textStyle(.outputCode), base: theme.style(.outputFg, on: .outputBg)))
        #expect(style(ofRowStarting: "All green.") == theme.style(.outputFg, on: .outputBg))
        // The nearest tool call above the bottom is the second; move up to the first and expand it.
        h.press("toggleToolOutput")
        #expect(h.outputRows.contains { $0.trimmingCharacters(in: .whitespaces) == "no such file" }, "rows: \(h.outputRows)")
        h.press("toggleToolOutput")
        #expect(!h.outputRows.contains { $0.contains("no such file") })
        // The same from the first tool line: scrolled so it is the bottom line.
        h.state.withActive { instance in
            instance.view.follow = false
            instance.view.anchorLine = instance.transcript.tools[0].line
        }
        h.press("toggleToolOutput")
        h.press("followTail")
        let expanded = h.outputRows.map { $0.trimmingCharacters(in: .whitespaces) }
        let bash = expanded.firstIndex { $0.hasPrefix("⏺ Bash") }
        #expect(bash.map { Array(expanded[($0 + 1)...].prefix(3)) } == ["PASS one", "PASS two", "⏺ Read  src/main.rs  ✘ 0.4 s  ⎿ 1 line"],
                "rows: \(expanded)")
    }

    /// Names, summaries, excerpts and inputs from a frame cannot drive the terminal: escapes and
    /// controls are drawn as `?`; the notification and the title carry none either.
    @Test func hostileFramesAreSanitizedEverywhereTheyAreShown() {
        var h = Harness(rows: 24, cols: 100)
        let evil = "Bash\u{1B}]2;pwned\u{07}\u{1B}[2J\u{9B}31m"
        h.turn("api", id: "t1", prompt: "go")
        h.claude("api", .session(ClaudeSessionInfo(sessionID: "s", model: "opus\u{1B}[5m", cwd: "/", tools: "", claudeVersion: "", resumed: false)))
        h.claude("api", .toolUse(id: "t1", ToolUseInfo(toolID: "u1", name: evil, summary: "rm\u{1B}[31m -rf\nsecond")))
        h.claude("api", .toolResult(id: "t1", ToolResultInfo(toolID: "u1", isError: false, bytes: 1, lines: 1, excerpt: "\u{1B}]52;c;AAAA\u{07}")))
        h.press("toggleToolOutput")
        h.claude("api", .permission(id: "t1", PermissionRequestInfo(requestID: "r1", tool: evil, summary: evil, input: evil + "\n\t" + evil)))
        #expect(h.state.focus == .approval)
        let screen = h.screen()
        for line in screen {
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) },
                    "a control reached the screen: \(line.debugDescription)")
        }
        #expect(screen.contains { $0.contains("Bash?]2;pwned??[2J?31m") }, "screen: \(screen)")
        for bytes in [TerminalNotifier.bytes(evil, mode: .osc9, inTmux: false), TerminalNotifier.title(evil)] {
            // Only the notifier's own ESC ] ... ESC \ frame: nothing inside it.
            let inner = bytes.dropFirst(2).dropLast(2)
            #expect(!inner.contains(0x1B) && !inner.contains(0x07), "bytes: \(bytes)")
        }
    }

    @Test func theListShowsActivityCostAndAnApprovalBadge() {
        var h = Harness(rows: 24, cols: 100)
        h.turn("web", id: "w1", prompt: "go")
        h.claude("web", .result(id: "w1", sampleResult))
        h.send(.activityChanged(instance: "web", activity: .working))
        #expect(h.screen()[1].contains("web") && h.screen()[1].contains("working $0.0456│"), "list: \(h.screen()[1])")
        h.claude("web", .permission(id: "w1", PermissionRequestInfo(requestID: "r1", tool: "Bash", summary: "ls", input: "{}")))
        h.send(.activityChanged(instance: "web", activity: .waitingForApproval(1)))
        #expect(h.screen()[1].contains("! approve? $0.0456│"), "list: \(h.screen()[1])")
        h.send(.activityChanged(instance: "web", activity: .failed))
        #expect(SessionWording.activity(.stalled(42)) == "stalled 42 s")
        #expect(SessionWording.listActivity(.failed) == "failed")
    }

    /// A request on the instance in view opens the overlay; `y` allows once. Esc leaves a request
    /// pending and answers nothing.
    @Test func anApprovalAnsweredFromTheOverlay() {
        var h = Harness(rows: 24, cols: 100)
        h.turn("api", id: "t1", prompt: "go")
        let effects = h.claude("api", .permission(id: "t1", PermissionRequestInfo(requestID: "r1", tool: "Bash", summary: "npm test",
                                                                                  input: #"{"command":"npm test"}"#)))
        #expect(!effects.contains { if case .notify = $0 { true } else { false } }, "the instance is in view: no notification")
        #expect(h.state.focus == .approval)
        let screen = h.screen().joined(separator: "\n")
        #expect(screen.contains("api asks for permission") && screen.contains("tool     Bash") && screen.contains("summary  npm test"))
        #expect(screen.contains(#"{"command":"npm test"}"#))
        #expect(h.press("closeOverlay").isEmpty)
        #expect(h.state.focus != .approval && h.active.transcript.approvals.count == 1, "Esc leaves it pending")
        h.press("showApproval")
        // The title counted the request while it waited (it waits for the user, in view or not).
        #expect(h.press("allowOnce") == [.answerPermission(instance: "api", requestID: "r1", behavior: .allow, message: ""),
                                          .setTitle("cc-bridge-tui")])
        #expect(h.active.transcript.approvals.isEmpty && h.state.focus == .list)
    }

    /// The overlay is as tall as what it says, so the reply behind it stays in view, and every
    /// answer key is shown whole, wrapped at the box's edge (on 120 columns the legend was cut:
    /// "Esc leave it waitin", and the box filled the screen).
    @Test func theApprovalOverlayFitsItsTextAndShowsEveryKey() {
        var h = Harness(rows: 30, cols: 120)
        h.turn("api", id: "t1", prompt: "go")
        h.claude("api", .permission(id: "t1", PermissionRequestInfo(requestID: "r1", tool: "Bash", summary: "ls -la",
                                                                    input: #"{"command":"ls -la","description":"List files"}"#)))
        let screen = h.screen()
        let text = screen.joined(separator: "\n")
        #expect(text.contains("Esc leave it waiting"), "\(text)")
        #expect(text.contains("y allow once") && text.contains("n deny"), "\(text)")
        let bottom = screen.lastIndex { $0.contains("└") && $0.contains("┘") }
        #expect(bottom != nil && bottom! < 16, "the box should end below its text, not at the screen's foot:\n\(text)")
    }

    /// A request on an instance not in view: a badge and a notification; answered from the list
    /// with `p` (no attach), denied with a reason typed in the field.
    @Test func anApprovalAnsweredFromTheListWithAReason() {
        var h = Harness(rows: 24, cols: 100)
        h.turn("web", id: "w1", prompt: "go")
        let effects = h.claude("web", .permission(id: "w1", PermissionRequestInfo(requestID: "r9", tool: "Write", summary: "a.txt", input: "{}")))
        #expect(effects.contains(.notify("web waits for your approval: Write")), "effects: \(effects)")
        #expect(effects.contains(.setTitle("cc-bridge-tui: 1 waiting")), "effects: \(effects)")
        #expect(h.state.focus == .list, "not in view: no overlay steals the keys")
        h.press("selectNext")
        // The footer of the instance with the waiting approval names the key that answers it.
        #expect(h.screen().last?.hasPrefix(" p approve") == true, "footer: \(h.screen().last ?? "")")
        h.press("showApproval")
        #expect(h.state.focus == .approval && !h.state.isAttached)
        h.press("denyApproval")
        #expect(h.state.focus == .approvalReason)
        h.type("not now")
        let answer = h.press("sendDenial")
        #expect(answer.contains(.answerPermission(instance: "web", requestID: "r9", behavior: .deny, message: "not now")), "effects: \(answer)")
        #expect(answer.contains(.setTitle("cc-bridge-tui")))
        #expect(h.state.focus == .list)
    }

    /// A turn that ends on an instance not in view notifies (once per interval; the rest held and
    /// sent on a later tick) and counts in the title until it is looked at; one in view does not.
    @Test func notificationsForTurnsEndingOutOfViewAreRateLimitedAndTheTitleCounts() {
        var h = Harness(rows: 24, cols: 100, instances: ["api", "web", "db"])
        for name in ["api", "web", "db"] { h.turn(name, id: "\(name)-1", prompt: "go") }
        #expect(!h.endTurn("api", id: "api-1", prompt: "go").contains { if case .notify = $0 { true } else { false } })
        let web = h.endTurn("web", id: "web-1", prompt: "go")
        #expect(web == [.notify("web: turn completed"), .setTitle("cc-bridge-tui: 1 waiting")], "effects: \(web)")
        let db = h.endTurn("db", id: "db-1", prompt: "go")
        #expect(db == [.setTitle("cc-bridge-tui: 2 waiting")], "held by the rate limit: \(db)")
        h.state.now += NotificationQueue.interval
        #expect(h.send(.tick(now: h.state.now)) == [.notify("db: turn completed")])
        h.press("selectNext")
        #expect(h.effects.last == .setTitle("cc-bridge-tui: 1 waiting"), "looking at web clears it")
        var off = TUISettings()
        off.notify = .off
        var quiet = Harness(rows: 24, cols: 100, settings: off)
        quiet.turn("web", id: "w", prompt: "go")
        #expect(!quiet.endTurn("web", id: "w", prompt: "go").contains { if case .notify = $0 { true } else { false } })
    }

    @Test func notifierBytesForEachModeAndInsideTmux() {
        #expect(TerminalNotifier.bytes("web: done", mode: .bell, inTmux: false) == [0x07])
        #expect(TerminalNotifier.bytes("web: done", mode: .off, inTmux: true) == [])
        #expect(String(decoding: TerminalNotifier.bytes("web: done", mode: .osc9, inTmux: false), as: UTF8.self) == "\u{1B}]9;web: done\u{1B}\\")
        #expect(String(decoding: TerminalNotifier.bytes("web: done", mode: .osc777, inTmux: false), as: UTF8.self)
                == "\u{1B}]777;notify;cc-bridge-tui;web: done\u{1B}\\")
        #expect(String(decoding: TerminalNotifier.bytes("web: done", mode: .osc9, inTmux: true), as: UTF8.self)
                == "\u{1B}Ptmux;\u{1B}\u{1B}]9;web: done\u{1B}\u{1B}\\\u{1B}\\\u{07}")
    }

    /// A restored Claude turn shows its tool calls and footer (kept as text in the history) in
    /// their roles, as the live transcript does.
    @Test func restoredHistoryShowsToolLinesAndTheFooterInTheirRoles() {
        var h = Harness(rows: 24, cols: 100)
        var turn = Turn(id: "t1", prompt: "run", sentAt: h.state.now, status: .completed)
        turn.response = "Looking.\n⏺ Bash  npm test  ✔ 2.1 s  ⎿ 12 lines\n✻ 4.2 s · 1.2k in · 340 out · $0.0123\n"
        h.send(.historyRestored(instance: "api", turns: [turn], inputs: [], queue: []))
        let buffer = h.buffer()
        let layout = h.state.layout
        let lines = buffer.textLines()
        func style(of prefix: String) -> CellStyle? {
            guard let row = (layout.output.row..<(layout.output.row + layout.output.rows)).first(where: {
                String(Array(lines[$0]).dropFirst(layout.output.col)).hasPrefix(prefix) }) else { return nil }
            return buffer[row, layout.output.col].style
        }
        let theme = h.state.theme
        let base = theme.style(.outputFg, on: .outputBg)
        #expect(style(of: "⏺ Bash") == theme.style(for: theme.textStyle(.outputTool), base: base), "screen: \(lines)")
        #expect(style(of: "✻ 4.2 s") == theme.style(for: theme.textStyle(.outputFooter), base: base))
        #expect(style(of: "Looking.") == theme.style(for: TextStyle(dim: true), base: base))
    }

    /// An instance that turns unhealthy (from healthy or degraded) is told about, naming it; one
    /// first seen unhealthy is not news.
    @Test func anInstanceTurningUnhealthyNotifies() {
        var h = Harness(rows: 24, cols: 100)
        h.send(.healthUpdated([], perInstance: ["api": InstanceHealth(.healthy), "web": InstanceHealth(.unhealthy, reason: "gone")]))
        #expect(!h.effects.contains { if case .notify = $0 { true } else { false } })
        let effects = h.send(.healthUpdated([], perInstance: ["api": InstanceHealth(.unhealthy, reason: "agent not listening")]))
        #expect(effects == [.notify("api is unhealthy: agent not listening")])
    }
}
