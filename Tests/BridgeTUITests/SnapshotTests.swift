// Screen snapshots: AppState fixtures rendered at fixed sizes, compared as text rows
// (trailing spaces trimmed), plus style checks on chosen cells.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct SnapshotTests {
    /// Two instances, 30 lines of output in api, a wide-character line in web.
    static func standard(rows: Int = 24, cols: Int = 80) -> Harness {
        var h = Harness(rows: rows, cols: cols)
        h.numbered("api", 1...30)
        h.output("web", ["hello 日本語 wide", "emoji 🎉 party"])
        h.send(.queueChanged(instance: "api", count: 2))
        h.send(.healthUpdated([], perInstance: ["api": InstanceHealth(.healthy), "web": InstanceHealth(.degraded, reason: "slow")]))
        return h
    }

    @Test func standardScreen80x24() {
        let h = SnapshotTests.standard()
        let expected = [
            "▌● api            q2│ api ● healthy  /tmp/ccb/api.out.fifo            following",
            " ◐ web            +2│line 11",
        ] + (12...30).map { "                    │line \($0)" } + [
            "─ prompt → api ────────────────────────────────────────────────────── 2 queued ─",
            "> i to type a prompt",
            " ? help  q quit  i prompt  a attach  / search  f filter  H health",
        ]
        #expect(h.screen() == expected)
        let buffer = h.buffer()
        // The selected row is drawn with list.selected (reverse bold), the dot with state.ok.
        #expect(buffer[0, 5].style == CellStyle(attrs: [.reverse, .bold]))
        #expect(buffer[0, 1].style == CellStyle(fg: .ansi(2), attrs: [.reverse, .bold]))
        #expect(buffer[1, 1].style == CellStyle(fg: .ansi(3)))
        #expect(buffer.cursor == nil)
    }

    @Test func pausedIndicatorShowsNewLines() {
        var h = SnapshotTests.standard()
        h.press("focusOutput")
        h.press("scrollUp")
        h.press("scrollUp")
        h.numbered("api", 31...33)
        let screen = h.screen()
        #expect(screen[0] == " ● api            q2│ api ● healthy  /tmp/ccb/api.out.fifo  paused, 3 new lines")
        #expect(screen[1] == " ◐ web            +2│line 9")
        #expect(screen[20] == "                    │line 28")
        #expect(screen[23] == " ? help  q quit  i prompt  a attach  / search  f filter  H health  G follow")
        #expect(h.buffer()[0, 60].style == CellStyle(fg: .ansi(3), attrs: [.bold]))
    }

    @Test func wideCharactersAtTheRightEdge() {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        let width = h.state.layout.output.cols
        let edge = String(repeating: "x", count: width - 1) + "日本"
        h.output("api", [edge, "a🎉b", "e\u{301}t\u{E9}"])
        // Wrap on: the wide character that does not fit moves to the next row.
        var rows = h.outputRows
        #expect(rows[0] == String(repeating: "x", count: width - 1))
        #expect(rows[1] == "日本")
        #expect(rows[2] == "a🎉b")
        #expect(rows[3] == "e\u{301}t\u{E9}")
        var buffer = h.buffer()
        let col = h.state.layout.output.col
        #expect(buffer[3, col + 1].width == 2 && buffer[3, col + 2].isContinuation)
        #expect(buffer[4, col].text == "e\u{301}" && buffer[4, col + 1].text == "t")
        // Wrap off: no half character at the edge: the cell becomes a space.
        h.press("toggleWrap")
        rows = h.outputRows
        #expect(rows[0] == String(repeating: "x", count: width - 1))
        buffer = h.buffer()
        #expect(buffer[1, 39].text == " " && buffer[1, 39].width == 1)
        // Scrolled sideways by an odd amount: the cut wide character shows as a space.
        h.press("focusOutput")
        h.state.instances[0].view.horizontalOffset = 2
        #expect(h.outputRows[1] == " b")
        buffer = h.buffer()
        for row in 0..<buffer.rows {
            for c in 0..<buffer.cols where buffer[row, c].isContinuation {
                #expect(c > 0 && buffer[row, c - 1].width == 2, "orphan continuation at \(row),\(c)")
            }
        }
    }

    @Test func styledRunsAreMappedThroughTheTheme() throws {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        let red = TextStyle(foreground: .ansi(1), bold: true)
        let line = OutputLine(text: "ok 日本 fail", runs: [StyleRun(start: 3, count: 6, style: TextStyle(foreground: .rgb(1, 2, 3))),
                                                          StyleRun(start: 10, count: 4, style: red)], timestamp: 0)
        h.send(.output(instance: "api", batch: OutputBatch(lines: [line])))
        var buffer = h.buffer()
        let col = h.state.layout.output.col
        #expect(h.outputRows[0] == "ok 日本 fail")
        #expect(buffer[1, col].style == .plain)
        #expect(buffer[1, col + 3].style.fg == .rgb(1, 2, 3))
        #expect(buffer[1, col + 7].style == .plain)
        #expect(buffer[1, col + 8].style == CellStyle(fg: .ansi(1), attrs: [.bold]))
        // A theme with its own red draws the agent's red with it.
        h.state.theme = try ThemeLoader.parse("ansi.1 = #aa0000", file: "t", name: "t")
        buffer = h.buffer()
        #expect(buffer[1, col + 8].style == CellStyle(fg: .rgb(0xAA, 0, 0), attrs: [.bold]))
        // Monochrome keeps bold, drops colour.
        h.state.theme = .monochrome
        buffer = h.buffer()
        #expect(buffer[1, col + 8].style == CellStyle(attrs: [.bold]))
        #expect(buffer[1, col + 3].style == .plain)
    }

    @Test func searchMatchesAreHighlighted() {
        var h = Harness(rows: 40, cols: 120, instances: ["api", "web", "worker-with-a-long-name"])
        h.output("api", ["plain start", "error: something failed", "another error here"])
        h.send(.healthUpdated([HealthRow(component: "pipe dir", level: .healthy, reason: "ok", detail: "/tmp/ccb"),
                               HealthRow(component: "api", level: .degraded, reason: "no reader", detail: "out fifo idle 30s")],
                              perInstance: ["api": InstanceHealth(.degraded, reason: "no reader")]))
        h.send(.streamState(instance: "api", text: "streaming"))
        h.press("toggleHealth")
        h.press("search")
        h.type("error")
        h.press("confirmInput")
        let screen = h.screen()
        #expect(screen[0] == "▌◐ api                        │ api ◐ degraded: no reader · streaming  /tmp/ccb/api.out.fifo        paused, 0 new lines")
        #expect(screen[1] == " ○ web                        │plain start")
        #expect(screen[2] == " ○ worker-with-a-long-name    │error: something failed")
        #expect(screen[3] == "                              │another error here")
        #expect(screen[34].hasPrefix("─ Health ─● healthy ◐ degraded ✖ unhealthy ○ unknown ───"))
        #expect(screen[35] == " ● pipe dir   healthy   ok · /tmp/ccb")
        #expect(screen[36] == " ◐ api        degraded  no reader · out fifo idle 30s")
        #expect(screen[37].hasPrefix("─ prompt → api ───"))
        #expect(screen[39] == " 2 matches for 'error'")
        let buffer = h.buffer()
        let col = h.state.layout.output.col
        // The current match (the first from the top of the view: line 2) and the other match differ.
        let current = Theme.builtinDefault.style(.outputMatchCurrent)
        let other = Theme.builtinDefault.style(.outputMatch)
        #expect(buffer[2, col].style == current)
        #expect(buffer[2, col + 5].style == .plain)
        #expect(buffer[3, col + 8].style == other)
        #expect(buffer[3, col + 7].style == .plain)
    }

    @Test func smallestSupportedScreen40x10() {
        var h = Harness(rows: 10, cols: 40)
        h.numbered("api", 1...5)
        #expect(h.screen() == [
            "▌○ api        │ api ○ unknown following",
            " ○ web        │line 1",
            "              │line 2",
            "              │line 3",
            "              │line 4",
            "              │line 5",
            "              │",
            "─ prompt → api ─────────────────────────",
            "> i to type a prompt",
            " ? help  q quit  i prompt  a attach",
        ])
    }

    @Test func tooSmallScreenStillQuits() {
        var h = Harness(rows: 8, cols: 30)
        #expect(h.screen() == ["", "", "      terminal too small", "    need 40x10, have 30x8", "           q quits", "", "", ""])
        #expect(h.key("j").isEmpty)
        #expect(h.press("quit") == [.quit])
        // Even with the prompt focused, q quits on this screen.
        var p = Harness(rows: 24, cols: 80)
        p.press("enterPrompt")
        p.send(.resize(rows: 5, cols: 20))
        #expect(p.key("q") == [.quit])
        #expect(p.active.prompt.isEmpty)
    }

    @Test func helpOverlayIsDrawnFromTheKeymap() {
        var h = SnapshotTests.standard()
        h.press("toggleHelp")
        let screen = h.screen()
        #expect(screen[1] == " ◐┌─ Keys (Esc q ? close · j/k PgUp/PgDn scroll) ────────────────────────────┐")
        #expect(screen[2] == "  │ General                                                                  │")
        #expect(screen[3] == "  │ q                      Quit                                              │")
        #expect(screen[4] == "  │ ? F1                   Show or hide this help                            │")
        // Descriptions wrap at word boundaries instead of being cut (issue 12).
        #expect(screen[7] == "  │ m                      Mouse capture on/off (off: the terminal's own     │")
        #expect(screen[8] == "  │                        selection works)                                  │")
        #expect(screen[22] == "> └───────────────────────────────────────────────────────────────── more ↓ ─┘")
        #expect(screen[23] == " Esc close  PgDn page down  PgUp page up")
        h.press("scrollDown")
        #expect(h.screen()[2] == "  │ q                      Quit                                              │")
        h.press("closeOverlay")
        #expect(h.state.focus == .list)
    }

    @Test func attachModeIsFullScreenWithThePromptFocused() {
        var h = Harness(rows: 10, cols: 40)
        h.numbered("api", 1...3)
        h.press("attach")
        h.type("hello there")
        #expect(h.screen() == [
            " api ○ unknown  …api.out.fifo following",
            "line 1",
            "line 2",
            "line 3",
            "",
            "",
            "",
            "─ prompt → api ─────────────────────────",
            "> hello there",
            " Enter send  Alt-Enter newline",
        ])
        #expect(h.buffer().cursor == CursorPosition(row: 8, col: 13))
    }

    @Test func multiLinePromptGrowsTheBox() {
        var h = SnapshotTests.standard()
        h.press("enterPrompt")
        h.type("first")
        h.press("insertNewline")
        h.type("second")
        let screen = h.screen()
        #expect(screen[20] == "─ prompt → api ──────────────────────────────────────────── 2 queued · 2 lines ─")
        #expect(screen[21] == "> first")
        #expect(screen[22] == "… second")
        #expect(h.buffer().cursor == CursorPosition(row: 22, col: 8))
    }

    @Test func timestampsColumn() {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        h.send(.output(instance: "api", batch: OutputBatch(lines: [OutputLine(text: "hello", timestamp: 3_723)])))
        h.press("toggleTimestamps")
        #expect(h.outputRows[0] == "01:02:03 hello")
    }

    /// First run: no instances. The pane names the directory watched and the two next steps.
    @Test func firstRunNamesThePipeDirectoryAndTheNextSteps() {
        var h = Harness(rows: 16, cols: 80, instances: [])
        h.state.pipeDirectory = "/tmp/cc-bridge/pipes"
        let screen = h.screen()
        #expect(Array(screen[0...10]) == [
            " no instances       │ cc-bridge",
            "                    │ No instances yet. Watching /tmp/cc-bridge/pipes for",
            "                    │ <name>.in.fifo and <name>.out.fifo; an instance appears",
            "                    │ here as soon as its pipes do.",
            "                    │",
            "                    │ Try it without Docker or Claude:",
            "                    │   cc-bridge-tui demo",
            "                    │",
            "                    │ Or start the agent inside the container:",
            "                    │   cc-bridge-agent serve --name NAME --pipe-dir",
            "                    │   /tmp/cc-bridge/pipes --persistent \"claude\"",
        ])
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
