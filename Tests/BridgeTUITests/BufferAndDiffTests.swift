// CellBuffer invariants, the backend's changed-cell computation, the frame pacer, and the
// small pure helpers (line editor, matcher, export, OSC 52, char widths).

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct CellBufferTests {
    @Test func widths() {
        #expect(CharWidth.of("a" as Character) == 1)
        #expect(CharWidth.of("日" as Character) == 2)
        #expect(CharWidth.of("🎉" as Character) == 2)
        #expect(CharWidth.of("e\u{301}" as Character) == 1)
        #expect(CharWidth.of("\u{301}" as Character) == 0)
        #expect(CharWidth.of("❤\u{FE0F}" as Character) == 2)
        #expect(CharWidth.of("🇩🇪" as Character) == 2)
        #expect(CharWidth.of("ｱ" as Character) == 1)
        #expect(CharWidth.of("한" as Character) == 2)
    }

    @Test func wideCharacterAtTheEdgeBecomesASpace() {
        var buffer = CellBuffer(rows: 1, cols: 5)
        let end = buffer.write("abcd日", row: 0, col: 0, style: .plain)
        #expect(end == 5)
        #expect(buffer.textLines(trimTrailing: false) == ["abcd "])
        #expect(buffer[0, 4].width == 1)
    }

    @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
        var buffer = CellBuffer(rows: 1, cols: 6)
        buffer.write("日本語", row: 0, col: 0, style: .plain)
        #expect(buffer.textLines() == ["日本語"])
        buffer.write("x", row: 0, col: 1, style: .plain)   // right half of 日
        #expect(buffer.textLines(trimTrailing: false) == [" x本語"])
        buffer.write("y", row: 0, col: 2, style: .plain)   // left half of 本
        #expect(buffer.textLines(trimTrailing: false) == [" xy 語"])
        buffer.write("中", row: 0, col: 3, style: .plain)   // wide over the continuation and 語's lead
        #expect(buffer.textLines(trimTrailing: false) == [" xy中 "])
        for c in 0..<6 where buffer[0, c].isContinuation { #expect(buffer[0, c - 1].width == 2) }
    }

    @Test func combiningMarksAttachToThePreviousCell() {
        var buffer = CellBuffer(rows: 1, cols: 4)
        buffer.write("a", row: 0, col: 0, style: .plain)
        buffer.put("\u{301}", row: 0, col: 1, style: .plain)
        #expect(buffer[0, 0].text == "a\u{301}")
        buffer.write("日", row: 0, col: 1, style: .plain)
        buffer.put("\u{302}", row: 0, col: 3, style: .plain)
        #expect(buffer[0, 1].text == "日\u{302}")
    }
}

@Suite struct CellDiffTests {
    func frame(_ text: String, cols: Int = 6) -> CellBuffer {
        var buffer = CellBuffer(rows: 1, cols: cols)
        buffer.write(text, row: 0, col: 0, style: .plain)
        return buffer
    }

    /// Applies the diff to `old` the way the backend does and returns the resulting text.
    func apply(_ old: CellBuffer, _ new: CellBuffer) -> CellBuffer {
        var screen = old
        for (row, col, cell) in CellDiff.cellsToWrite(CellDiff.spans(from: old, to: new), in: new) {
            screen.set(row: row, col: col, cell)
        }
        return screen
    }

    @Test func identicalFramesWriteNothing() {
        #expect(CellDiff.spans(from: frame("abc"), to: frame("abc")).isEmpty)
    }

    @Test func onlyChangedCellsAreWritten() {
        let spans = CellDiff.spans(from: frame("abcdef"), to: frame("abXdeY"))
        #expect(spans == [DirtySpan(row: 0, start: 2, end: 3), DirtySpan(row: 0, start: 5, end: 6)])
    }

    @Test func wideReplacedByNarrowLeavesNothingBehind() {
        let old = frame("日本x")
        let new = frame("ab本x")
        let spans = CellDiff.spans(from: old, to: new)
        #expect(spans == [DirtySpan(row: 0, start: 0, end: 2)])
        #expect(apply(old, new) == new)
        // Narrow where the right half of a wide character was.
        let shifted = frame("a日本", cols: 6)
        let spans2 = CellDiff.spans(from: old, to: shifted)
        #expect(spans2 == [DirtySpan(row: 0, start: 0, end: 5)])
        #expect(apply(old, shifted).textLines() == ["a日本"])
    }

    @Test func narrowReplacedByWideCoversBothCells() {
        let old = frame("abcd")
        let new = frame("a中d")
        let spans = CellDiff.spans(from: old, to: new)
        #expect(spans == [DirtySpan(row: 0, start: 1, end: 3)])
        let cells = CellDiff.cellsToWrite(spans, in: new)
        #expect(cells.map(\.col) == [1])
        // Only the continuation changed (a wide character moved its right neighbour): the lead
        // is rewritten too.
        let before = frame("中bc")
        let after = frame("中 c")
        #expect(CellDiff.spans(from: before, to: after) == [DirtySpan(row: 0, start: 2, end: 3)])
        let half = frame("中本")
        let other = frame("中文")
        #expect(CellDiff.spans(from: half, to: other) == [DirtySpan(row: 0, start: 2, end: 4)])
        #expect(apply(old, new) == new)
    }

    @Test func sizeChangeRepaintsEverything() {
        let spans = CellDiff.spans(from: frame("abc", cols: 4), to: frame("abc", cols: 5))
        #expect(spans == [DirtySpan(row: 0, start: 0, end: 5)])
        #expect(CellDiff.spans(from: nil, to: frame("a")).count == 1)
    }

    @Test func styleChangesCount() {
        var new = frame("abc")
        new.write("b", row: 0, col: 1, style: CellStyle(attrs: [.bold]))
        #expect(CellDiff.spans(from: frame("abc"), to: new) == [DirtySpan(row: 0, start: 1, end: 2)])
    }
}

@Suite struct FramePacerTests {
    @Test func drawsAtMostSixtyTimesASecondAndNeverWhenClean() {
        var pacer = FramePacer()
        #expect(pacer.nextFrameTime(now: 10, dirty: false) == nil)
        #expect(pacer.nextFrameTime(now: 10, dirty: true) == 10)
        pacer.didDraw(at: 10)
        let next = pacer.nextFrameTime(now: 10.001, dirty: true)!
        #expect(abs(next - (10 + 1.0 / 60)) < 1e-9)
        #expect(pacer.nextFrameTime(now: 11, dirty: true) == 11)
        #expect(pacer.timeout(now: 10.001, dirty: false) == nil)
        #expect(abs(pacer.timeout(now: 10.001, dirty: true)! - (1.0 / 60 - 0.001)) < 1e-9)
    }
}

@Suite struct HelperTests {
    @Test func smartCaseMatching() {
        #expect(TextMatch("error").matches("An ERROR here"))
        #expect(!TextMatch("Error").matches("An ERROR here"))
        #expect(TextMatch("ér").ranges(in: "héré") == [1..<4])
        #expect(TextMatch("ab").ranges(in: "ababab") == [0..<2, 2..<4, 4..<6])
    }

    @Test func exportAndClipboard() {
        var h = Harness(instances: ["api"])
        h.send(.output(instance: "api", batch: OutputBatch(lines: [OutputLine(text: "one", timestamp: 0), OutputLine(text: "two", timestamp: 61)])))
        #expect(ScrollbackExport.text(of: h.active, timestamps: false) == "one\ntwo\n")
        #expect(ScrollbackExport.text(of: h.active, timestamps: true) == "00:00:00 one\n00:01:01 two\n")
        #expect(Clipboard.osc52("hi!") == Array("\u{1B}]52;c;aGkh\u{07}".utf8))
        #expect(Clipboard.base64(Array("ab".utf8)) == Array("YWI=".utf8))
    }

    @Test func timeFormatting() {
        #expect(TimeFormat.fileStamp(1_700_000_000) == "20231114-221320")
        #expect(TimeFormat.clock(86_399) == "23:59:59")
    }

    @Test func promptLayoutWrapsAndPlacesTheCursor() {
        var editor = LineEditor("abcdef")
        #expect(PromptLayout.rows(of: editor, width: 4).map(\.range) == [0..<4, 4..<6])
        #expect(PromptLayout.cursorPosition(of: editor, width: 4) == (1, 2))
        editor = LineEditor("abcd")
        #expect(PromptLayout.rowCount(of: editor, width: 4) == 2)
        #expect(PromptLayout.cursorPosition(of: editor, width: 4) == (1, 0))
    }

    @Test func historyLimitAndDuplicates() {
        var history = PromptHistory()
        history.add("a")
        history.add("a")
        #expect(history.entries == ["a"])
        for i in 0..<300 { history.add("\(i)") }
        #expect(history.entries.count == PromptHistory.limit)
    }
}
