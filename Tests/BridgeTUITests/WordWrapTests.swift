// WordWrapTests: the output pane wraps at word boundaries when a word fits on the next row,
// breaks longer words at the edge, keeps wide characters and style runs whole, and counts
// rows exactly as it draws them (scrolling relies on that).

import Testing
import BridgeCore
@testable import BridgeTUI

@Suite struct WordWrapTests {
    /// The text of each row `layoutRows` makes.
    static func rows(_ text: String, width: Int) -> [String] {
        OutputPaneView.layoutRows(text, width: width, wrap: true, offset: 0).map { glyphs in
            String(glyphs.map(\.character))
        }
    }

    @Test func wordsMoveWholeToTheNextRow() {
        #expect(Self.rows("hello world foo", width: 8) == ["hello ", "world ", "foo"])
        #expect(OutputRows.count(OutputLine(text: "hello world foo"), width: 8, wrap: true) == 3)
        #expect(Self.rows("alpha beta gamma delta epsilon zeta", width: 25) == ["alpha beta gamma delta ", "epsilon zeta"])
    }

    @Test func spacesAtTheEdgeAreSwallowedNotStartingTheNextRow() {
        #expect(Self.rows("abc def", width: 3) == ["abc", "def"])
        #expect(Self.rows("abc   def", width: 4) == ["abc ", "def"])
        #expect(Self.rows("abc ", width: 3) == ["abc"])
        #expect(OutputRows.count(OutputLine(text: "abc "), width: 3, wrap: true) == 1)
    }

    @Test func aWordLongerThanTheRowBreaksAtTheEdge() {
        let long = String(repeating: "x", count: 30)
        #expect(Self.rows(long + " end", width: 25) == [String(repeating: "x", count: 25), "xxxxx end"])
        // A long word after a short one starts on the next row, then breaks there.
        #expect(Self.rows("ab " + long, width: 25) == ["ab ", String(repeating: "x", count: 25), "xxxxx"])
    }

    @Test func wideCharactersAreWordsOfTheirOwnAndNeverSplit() {
        // 6 + 9 × 2 = 24 cells; the tenth wide character would need 26.
        let text = "hello " + String(repeating: "世", count: 12)
        #expect(Self.rows(text, width: 25) == ["hello " + String(repeating: "世", count: 9), String(repeating: "世", count: 3)])
        // A word after wide characters moves as a whole.
        #expect(Self.rows("世界世界 abcdef", width: 10) == ["世界世界 ", "abcdef"])
        // Combining marks stay with their letter.
        #expect(Self.rows("cafe\u{301} au lait", width: 7) == ["cafe\u{301} au", "lait"])
    }

    /// The count scrolling uses and the rows drawn come from one rule: checked over mixed text.
    @Test func rowCountAgreesWithTheRowsDrawn() {
        let pieces = ["a", "bb", "word", "longerword", " ", "  ", "世", "界界", "e\u{301}", "x", "-", "\u{200B}"]
        for i in 0..<600 {
            // Mixed pieces in an order that varies with i, at every width from 1 to 20.
            let text = (0..<(i % 31)).map { j in pieces[(i * 7 + j * 13 + j * j * 5) % pieces.count] }.joined()
            let width = 1 + (i * 3) % 20
            let rows = OutputPaneView.layoutRows(text, width: width, wrap: true, offset: 0)
            #expect(rows.count == OutputRows.count(OutputLine(text: text), width: width, wrap: true), "\(text.debugDescription) at \(width)")
            for row in rows where row.count > 1 {
                #expect(row.reduce(0) { $0 + $1.width } <= width, "\(text.debugDescription) at \(width)")
            }
            // Every visible character is drawn, in order (spaces may be swallowed by a break).
            let visible = { (c: Character) in c != " " && CharWidth.of(c) > 0 }
            let drawn = rows.flatMap { $0.map(\.character) }.filter(visible)
            #expect(String(drawn) == String(text.filter(visible)), "\(text.debugDescription) at \(width)")
        }
    }

    /// Style runs follow their bytes to whichever row the word lands on.
    @Test func styleRunsFollowAWordToTheNextRow() {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        let width = h.state.layout.output.cols   // 25
        #expect(width == 25)
        let text = "alpha beta gamma delta epsilon zeta"
        let start = text.utf8.count - "epsilon zeta".utf8.count
        let red = TextStyle(foreground: .ansi(1))
        let batch = OutputBatch(lines: [OutputLine(text: text, runs: [StyleRun(start: start, count: 7, style: red)], timestamp: 0)])
        h.send(.output(instance: "api", batch: batch))
        let rows = h.outputRows
        let row = rows.firstIndex(of: "epsilon zeta")
        #expect(row != nil, "\(rows)")
        let buffer = h.buffer()
        let output = h.state.layout.output
        let redStyle = h.state.theme.style(for: red, base: h.state.theme.style(.outputFg, on: .outputBg))
        if let row {
            #expect(buffer[output.row + row, output.col].style == redStyle)
            #expect(buffer[output.row + row, output.col + 6].style == redStyle)
            #expect(buffer[output.row + row, output.col + 8].style != redStyle)
            #expect(buffer[output.row + row - 1, output.col + 22].style != redStyle)
        }
    }

    /// Scrolling counts rows with the same rule: the top of the scrollback shows whole, and
    /// paging back down ends exactly on the newest row.
    @Test func scrollingAgreesWithWordWrappedRows() {
        var h = Harness(rows: 10, cols: 40, instances: ["api"])
        let height = h.state.layout.output.rows   // 6
        let word = { (c: Character) in String(repeating: c, count: 15) }
        // Four 15-letter words: 4 rows when wrapped by word (3 when cut mid-word).
        let long = [word("a"), word("b"), word("c"), word("d")].joined(separator: " ")
        h.output("api", ["top 1", "top 2", long, "after 1", "after 2", "after 3"])
        h.press("focusOutput")
        h.press("scrollTop")
        #expect(h.outputRows == ["top 1", "top 2", word("a"), word("b"), word("c"), word("d")].prefix(height).map { $0 })
        h.press("scrollDown")
        #expect(h.outputRows.last == "after 1")
        h.press("scrollDown")
        h.press("scrollDown")
        #expect(h.active.view.follow)
        #expect(h.outputRows == [word("b"), word("c"), word("d"), "after 1", "after 2", "after 3"])
    }
}
