// PausedFloodTests: a paused output pane while a flood pushes old lines past the line limit:
// the view keeps its lines while they exist, then shows the oldest line kept under a marker
// that counts the dropped lines, with the pane full and the "new lines" count bounded.

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct PausedFloodTests {
    static func pausedFixture() -> Harness {
        var settings = TUISettings()
        settings.scrollbackLines = 100
        var h = Harness(settings: settings)
        h.numbered("api", 1...100)
        h.press("focusOutput")
        h.press("scrollUp")
        return h
    }

    @Test func viewStaysOnItsLinesWhileTheyExist() {
        var h = Self.pausedFixture()
        let before = h.outputRows
        #expect(before.last == "line 99")
        h.numbered("api", 101...170)   // lines 1...70 are trimmed; the view shows 80...99
        #expect(h.outputRows == before)
        #expect(h.screen()[0].hasSuffix("paused, 70 new lines, 70 dropped"))
    }

    @Test func trimmedViewShowsTheOldestLineUnderTheDroppedMarker() {
        var h = Self.pausedFixture()
        let height = h.state.layout.output.rows
        for start in stride(from: 101, through: 3_000, by: 100) { h.numbered("api", start...(start + 99)) }
        let rows = h.outputRows
        #expect(rows.count == height)
        #expect(rows[0] == "── 2,900 lines dropped while paused ──")
        #expect(rows[1] == "line 2901")
        #expect(!rows.contains(""), "no blank rows: \(rows)")
        #expect(rows.last == "line \(2900 + height - 1)")
        // The count is bounded by what can be shown: 100 lines are kept.
        #expect(h.active.view.newWhilePaused == 100)
        #expect(h.screen()[0].hasSuffix("paused, 100 new lines, 2,900 dropped"))
        // Scrolling down walks the kept lines; following again forgets the marker.
        h.press("scrollDown")
        #expect(h.outputRows[0] == "line 2901")
        h.press("followTail")
        #expect(h.outputRows.last == "line 3000")
        #expect(!h.outputRows.contains { $0.contains("dropped") })
        #expect(h.screen()[0].hasSuffix("following"))
    }

    @Test func scrollingToTheTopShowsTheMarkerAboveTheOldestLine() {
        var h = Self.pausedFixture()
        h.numbered("api", 101...150)
        h.press("scrollTop")
        #expect(h.outputRows[0] == "── 50 lines dropped while paused ──")
        #expect(h.outputRows[1] == "line 51")
    }
}
