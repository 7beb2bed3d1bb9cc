// CellDiff: which parts of the screen changed between two frames. Pure, so the backend's
// "write only what changed" logic is tested without a terminal.
//
// Changes are reported as spans of columns per row. A span's ends never split a wide
// character in either frame: when a wide character is replaced by narrow ones (or the other
// way round) the whole pair of cells is repainted, so nothing of the old glyph is left behind.

public struct DirtySpan: Hashable, Sendable {
    public var row: Int
    /// Columns start..<end.
    public var start: Int
    public var end: Int
    public init(row: Int, start: Int, end: Int) {
        self.row = row
        self.start = start
        self.end = end
    }
}

public enum CellDiff {
    /// Spans to repaint to turn `previous` into `next`. Without a previous frame (or after a
    /// size change) every row is one full span.
    public static func spans(from previous: CellBuffer?, to next: CellBuffer) -> [DirtySpan] {
        guard let previous, previous.rows == next.rows, previous.cols == next.cols else {
            return (0..<next.rows).map { DirtySpan(row: $0, start: 0, end: next.cols) }
        }
        var spans: [DirtySpan] = []
        let cols = next.cols
        for row in 0..<next.rows {
            var col = 0
            var current: DirtySpan?
            while col < cols {
                if previous[row, col] == next[row, col] {
                    col += 1
                    continue
                }
                var start = col, end = col + 1
                // Widen until neither frame has a wide character cut at either end.
                while start > 0 && (previous[row, start].isContinuation || next[row, start].isContinuation) { start -= 1 }
                while end < cols && (previous[row, end].isContinuation || next[row, end].isContinuation) { end += 1 }
                if var open = current, start <= open.end {
                    open.end = max(open.end, end)
                    current = open
                } else {
                    if let open = current { spans.append(open) }
                    current = DirtySpan(row: row, start: start, end: end)
                }
                col = end
            }
            if let open = current { spans.append(open) }
        }
        return spans
    }

    /// The cells a backend writes for the spans: every lead cell inside them (continuation
    /// cells are covered by their wide lead).
    public static func cellsToWrite(_ spans: [DirtySpan], in next: CellBuffer) -> [(row: Int, col: Int, cell: Cell)] {
        var result: [(Int, Int, Cell)] = []
        for span in spans {
            for col in span.start..<span.end where !next[span.row, col].isContinuation {
                result.append((span.row, col, next[span.row, col]))
            }
        }
        return result
    }
}
