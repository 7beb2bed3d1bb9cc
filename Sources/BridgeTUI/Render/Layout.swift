// Layout: where each part of the screen goes, as a pure function of the terminal size and a
// few flags. The screen is a column of bands, top to bottom:
//
//   +-- list --+|+-- title (instance, pipe path, follow/paused) ------+
//   |          ||   output pane (the selected instance's scrollback)   |
//   |          ||                                                      |
//   +----------+|+-----------------------------------------------------+
//   [ health panel, when shown: full width ]
//   ---- prompt separator (label: "prompt → name") ----
//   > prompt input (1 to 5 rows, grows with multi-line text)
//   status bar (messages or key hints)
//
// In attach mode the list is gone and the right-hand column takes the full width. Below
// `minimum` the whole screen is the "terminal too small" notice.

public struct Rect: Hashable, Sendable {
    public var row: Int
    public var col: Int
    public var rows: Int
    public var cols: Int
    public init(row: Int, col: Int, rows: Int, cols: Int) {
        self.row = row
        self.col = col
        self.rows = max(0, rows)
        self.cols = max(0, cols)
    }
    public func contains(row r: Int, col c: Int) -> Bool {
        r >= row && r < row + rows && c >= col && c < col + cols
    }
    public static let zero = Rect(row: 0, col: 0, rows: 0, cols: 0)
}

public struct Layout: Hashable, Sendable {
    public static let minimum = Size(rows: 10, cols: 40)
    public static let maxPromptRows = 5

    public var size: Size
    public var tooSmall: Bool
    public var list: Rect?
    /// Column of the vertical border right of the list.
    public var borderCol: Int?
    public var title: Rect
    public var output: Rect
    public var health: Rect?
    public var promptSeparator: Rect
    public var prompt: Rect
    public var status: Rect

    public static func listWidth(cols: Int) -> Int { min(max(cols / 4, 14), 30) }

    public static func compute(size: Size, attached: Bool, healthVisible: Bool, healthRows: Int, promptRows: Int) -> Layout {
        let tooSmall = size.rows < minimum.rows || size.cols < minimum.cols
        var layout = Layout(size: size, tooSmall: tooSmall, list: nil, borderCol: nil, title: .zero, output: .zero,
                            health: nil, promptSeparator: .zero, prompt: .zero, status: .zero)
        guard !tooSmall else { return layout }
        let rows = size.rows, cols = size.cols
        layout.status = Rect(row: rows - 1, col: 0, rows: 1, cols: cols)
        let maxPrompt = max(1, min(maxPromptRows, (rows - 6) / 3))
        let promptHeight = min(max(1, promptRows), maxPrompt)
        layout.prompt = Rect(row: rows - 1 - promptHeight, col: 0, rows: promptHeight, cols: cols)
        layout.promptSeparator = Rect(row: layout.prompt.row - 1, col: 0, rows: 1, cols: cols)
        var mainEnd = layout.promptSeparator.row
        if healthVisible {
            let height = min(1 + max(1, healthRows), max(2, rows / 3))
            layout.health = Rect(row: mainEnd - height, col: 0, rows: height, cols: cols)
            mainEnd -= height
        }
        var rightCol = 0
        if !attached {
            let width = listWidth(cols: cols)
            layout.list = Rect(row: 0, col: 0, rows: mainEnd, cols: width)
            layout.borderCol = width
            rightCol = width + 1
        }
        layout.title = Rect(row: 0, col: rightCol, rows: 1, cols: cols - rightCol)
        layout.output = Rect(row: 1, col: rightCol, rows: mainEnd - 1, cols: cols - rightCol)
        return layout
    }

    public static func compute(state: AppState) -> Layout { compute(state: state, size: state.size) }

    public static func compute(state: AppState, size: Size) -> Layout {
        let promptRows = state.activeInstance.map {
            PromptLayout.rowCount(of: $0.prompt, width: size.cols - PromptLayout.prefixWidth)
        } ?? 1
        return compute(size: size, attached: state.isAttached, healthVisible: state.healthVisible,
                       healthRows: state.healthEnabled ? state.healthRows.count : 1, promptRows: promptRows)
    }
}

/// How the prompt's text breaks into screen rows: logical lines (split at newlines), each
/// wrapped at the field width. Pure; used by layout, render and cursor placement.
public enum PromptLayout {
    /// "> " before the first row, "  " before the others.
    public static let prefixWidth = 2

    public struct Row: Hashable, Sendable {
        /// Character index range in the editor's text.
        public var range: Range<Int>
        public var firstOfLine: Bool
    }

    public static func rows(of editor: LineEditor, width: Int) -> [Row] {
        let width = max(1, width)
        var result: [Row] = []
        var start = 0, col = 0, i = 0, firstOfLine = true
        let chars = editor.characters
        while i < chars.count {
            let c = chars[i]
            if c == "\n" {
                result.append(Row(range: start..<i, firstOfLine: firstOfLine))
                i += 1
                start = i
                col = 0
                firstOfLine = true
                continue
            }
            let w = max(1, CharWidth.of(c))
            if col + w > width && col > 0 {
                result.append(Row(range: start..<i, firstOfLine: firstOfLine))
                start = i
                col = 0
                firstOfLine = false
            }
            col += w
            i += 1
        }
        result.append(Row(range: start..<chars.count, firstOfLine: firstOfLine))
        return result
    }

    public static func rowCount(of editor: LineEditor, width: Int) -> Int {
        // +1 row when the cursor sits at the very end of a full row (it wraps to a new row).
        let all = rows(of: editor, width: width)
        return all.count + (cursorNeedsExtraRow(editor, all, width: width) ? 1 : 0)
    }

    static func cursorNeedsExtraRow(_ editor: LineEditor, _ rows: [Row], width: Int) -> Bool {
        guard let last = rows.last, editor.cursor == editor.characters.count else { return false }
        let used = editor.characters[last.range].reduce(0) { $0 + max(1, CharWidth.of($1)) }
        return used >= max(1, width)
    }

    /// Row index and column (cells, without prefix) of the cursor.
    public static func cursorPosition(of editor: LineEditor, width: Int) -> (row: Int, col: Int) {
        let all = rows(of: editor, width: width)
        if cursorNeedsExtraRow(editor, all, width: width) { return (all.count, 0) }
        for (index, row) in all.enumerated() {
            let isLastOfLine = index + 1 == all.count || all[index + 1].firstOfLine
            if editor.cursor >= row.range.lowerBound &&
                (editor.cursor < row.range.upperBound || (editor.cursor == row.range.upperBound && isLastOfLine)) {
                let col = editor.characters[row.range.lowerBound..<editor.cursor].reduce(0) { $0 + max(1, CharWidth.of($1)) }
                return (index, col)
            }
        }
        return (max(0, all.count - 1), 0)
    }
}
