// CellBuffer: the in-memory screen the renderer draws into and the backend diffs.
// A wide character (CJK, emoji) occupies two cells: the lead cell holds the grapheme with
// width 2, the next cell is a continuation (width 0, empty text). Writes keep that invariant:
// overwriting either half of a wide character blanks the other half, and a wide character
// that does not fit before the right limit becomes a space. Zero-width graphemes (a lone
// combining mark) attach to the previous cell.

public struct Cell: Hashable, Sendable {
    /// One grapheme (possibly several scalars); empty for a continuation cell.
    public var text: String
    /// 1 or 2 for a lead cell, 0 for the continuation half of a wide character.
    public var width: UInt8
    public var style: CellStyle

    public init(_ text: String = " ", width: UInt8 = 1, style: CellStyle = .plain) {
        self.text = text
        self.width = width
        self.style = style
    }

    public var isContinuation: Bool { width == 0 }
    public static let blank = Cell()
}

public struct CursorPosition: Hashable, Sendable {
    public var row: Int
    public var col: Int
    public init(row: Int, col: Int) {
        self.row = row
        self.col = col
    }
}

public struct CellBuffer: Hashable, Sendable {
    public let rows: Int
    public let cols: Int
    public private(set) var cells: [Cell]
    /// Where the terminal cursor is shown; nil hides it.
    public var cursor: CursorPosition?

    public init(rows: Int, cols: Int, fill: Cell = .blank) {
        self.rows = max(0, rows)
        self.cols = max(0, cols)
        cells = Array(repeating: fill, count: self.rows * self.cols)
    }

    public var size: Size { Size(rows: rows, cols: cols) }

    public subscript(row: Int, col: Int) -> Cell {
        get { cells[row * cols + col] }
    }

    /// Sets a cell, keeping wide characters whole.
    public mutating func set(row: Int, col: Int, _ cell: Cell) {
        guard row >= 0, row < rows, col >= 0, col < cols else { return }
        let i = row * cols + col
        // Break up whatever wide character this cell belonged to.
        if cells[i].isContinuation, col > 0 {
            cells[i - 1] = Cell(" ", width: 1, style: cells[i - 1].style)
        }
        if cells[i].width == 2, col + 1 < cols {
            cells[i + 1] = Cell(" ", width: 1, style: cells[i + 1].style)
        }
        if cell.width == 2 {
            guard col + 1 < cols else {
                cells[i] = Cell(" ", width: 1, style: cell.style)
                return
            }
            if cells[i + 1].width == 2, col + 2 < cols {
                cells[i + 2] = Cell(" ", width: 1, style: cells[i + 2].style)
            }
            cells[i] = cell
            cells[i + 1] = Cell("", width: 0, style: cell.style)
        } else {
            cells[i] = cell
        }
    }

    /// Fills a rectangle with spaces in `style`.
    public mutating func fill(row: Int, col: Int, rows height: Int, cols width: Int, style: CellStyle) {
        for r in max(0, row)..<min(rows, row + height) {
            for c in max(0, col)..<min(cols, col + width) { set(row: r, col: c, Cell(" ", width: 1, style: style)) }
        }
    }

    /// Writes text starting at `col`, never past `limit` (exclusive; default: the right edge).
    /// Returns the column after the last cell written.
    @discardableResult
    public mutating func write(_ text: some StringProtocol, row: Int, col: Int, limit: Int? = nil, style: CellStyle) -> Int {
        let end = min(limit ?? cols, cols)
        var c = col
        for ch in text {
            if c >= end { break }
            c = put(ch, row: row, col: c, limit: end, style: style)
        }
        return c
    }

    /// Places one grapheme; returns the next column.
    @discardableResult
    public mutating func put(_ ch: Character, row: Int, col: Int, limit: Int? = nil, style: CellStyle) -> Int {
        let end = min(limit ?? cols, cols)
        guard row >= 0, row < rows else { return col }
        let width = CharWidth.of(ch)
        if width == 0 {
            attach(ch, row: row, col: col)
            return col
        }
        guard col >= 0, col < end else { return col }
        if width == 2 && col + 1 >= end {
            set(row: row, col: col, Cell(" ", width: 1, style: style))
            return col + 1
        }
        set(row: row, col: col, Cell(String(ch), width: UInt8(width), style: style))
        return col + width
    }

    /// Attaches a zero-width grapheme (combining mark) to the cell before `col`.
    private mutating func attach(_ ch: Character, row: Int, col: Int) {
        var c = col - 1
        guard c >= 0, c < cols else { return }
        if cells[row * cols + c].isContinuation { c -= 1 }
        guard c >= 0 else { return }
        let i = row * cols + c
        // Control characters (width 0 too) are dropped, not attached.
        guard ch.unicodeScalars.first.map({ $0.value >= 0x20 && !(0x7F..<0xA0).contains($0.value) }) ?? false else { return }
        cells[i].text.unicodeScalars.append(contentsOf: ch.unicodeScalars)
    }

    /// The text of each row (continuation cells skipped), trailing spaces trimmed.
    public func textLines(trimTrailing: Bool = true) -> [String] {
        (0..<rows).map { r in
            var line = ""
            for c in 0..<cols {
                let cell = self[r, c]
                if !cell.isContinuation { line += cell.text }
            }
            if trimTrailing {
                while line.last == " " { line.removeLast() }
            }
            return line
        }
    }

    /// Styles of the row's cells (for tests and debugging).
    public func styles(row: Int) -> [CellStyle] { (0..<cols).map { self[row, $0].style } }
}
