// OutputPaneView: draws the visible part of an instance's scrollback. Starts at the view's
// anchor (the bottom row) and walks upward only until the pane is full, so the cost is
// proportional to the pane, not to the scrollback. Styles come from the agent's SGR runs
// drawn through the theme; search matches are highlighted on top.

import BridgeCore

enum OutputPaneView {
    /// The empty state of a first run: the directory watched, and the two ways to get an instance
    /// (the flags are cc-bridge-agent's own: `cc-bridge-agent serve --help`).
    static func firstRunText(pipeDirectory: String) -> [String] {
        let directory = pipeDirectory.isEmpty ? "/tmp/cc-bridge/pipes" : pipeDirectory
        return [
            "No instances yet. Watching \(directory) for <name>.in.fifo and <name>.out.fifo; an instance appears here as soon as its pipes do.",
            "",
            "Try it without Docker or Claude:",
            "  cc-bridge-tui demo",
            "",
            "Or start the agent inside the container:",
            "  cc-bridge-agent serve --name NAME --pipe-dir \(directory) --persistent \"claude\"",
        ]
    }

    /// One screen row of a line: the characters it shows, each with its UTF-8 offset and width.
    struct Glyph {
        var character: Character
        var offset: Int
        var width: Int
    }

    static func draw(into buffer: inout CellBuffer, rect: Rect, state: AppState) {
        let theme = state.theme
        let base = theme.style(.outputFg, on: .outputBg)
        buffer.fill(row: rect.row, col: rect.col, rows: rect.rows, cols: rect.cols, style: base)
        guard rect.rows > 0, rect.cols > 0 else { return }
        guard let instance = state.activeInstance else {
            let rows = state.instances.isEmpty
                ? firstRunText(pipeDirectory: state.pipeDirectory).flatMap { line in
                    // Commands keep their indent on every row they wrap to.
                    let indent = String(line.prefix { $0 == " " })
                    return HelpView.wrap(String(line.dropFirst(indent.count)), width: rect.cols - 2 - indent.count).map { indent + $0 }
                }
                : ["No instance selected."]
            for (index, text) in rows.prefix(rect.rows).enumerated() {
                buffer.write(" " + text, row: rect.row + index, col: rect.col, limit: rect.col + rect.cols,
                             style: theme.style(.stateUnknown))
            }
            return
        }
        guard let (anchorLine, skip) = instance.anchor else {
            let text = instance.filter.isActive ? "no lines match the filter" : "(no output yet)"
            buffer.write(" " + text, row: rect.row, col: rect.col, limit: rect.col + rect.cols, style: theme.style(.stateUnknown))
            return
        }
        let width = instance.contentWidth(rect.cols)
        // Collect (line, rows) bottom-up until the pane is full.
        var visible: [(line: Int, rows: [[Glyph]])] = []
        var total = 0
        var current: Int? = anchorLine
        var first = true
        while let n = current, total < rect.rows {
            guard let line = instance.displayLine(at: n, theme: theme) else { break }
            var rows = layoutRows(line.text, width: width, wrap: instance.view.wrap, offset: instance.view.horizontalOffset)
            if first {
                rows.removeLast(min(skip, rows.count - 1))
                first = false
            }
            total += rows.count
            visible.append((n, rows))
            current = instance.visibleLine(before: n)
        }
        visible.reverse()
        // Drop rows above the pane's top.
        var dropTop = max(0, total - rect.rows)
        var screenRow = rect.row
        if current == nil, total < rect.rows, instance.markerRows > 0 {
            // The oldest line held is in view and older ones were trimmed while paused.
            buffer.write(SessionWording.droppedMarker(instance.droppedWhilePaused), row: screenRow, col: rect.col,
                         limit: rect.col + rect.cols, style: theme.style(for: TextStyle(dim: true), base: base))
            screenRow += 1
        }
        let match = instance.search.match
        for (n, rows) in visible {
            guard let line = instance.displayLine(at: n, theme: theme) else { continue }
            let highlights = match?.ranges(in: line.text) ?? []
            let matchStyle = theme.style(n == instance.search.current ? .outputMatchCurrent : .outputMatch, on: .outputBg)
            for (rowIndex, glyphs) in rows.enumerated() {
                if dropTop > 0 { dropTop -= 1; continue }
                guard screenRow < rect.row + rect.rows else { break }
                var col = rect.col
                if instance.view.timestamps {
                    let stamp = rowIndex == 0 ? TimeFormat.clock(line.timestamp + Double(state.timeZoneOffset)) + " " : ""
                    buffer.write(stamp, row: screenRow, col: col, limit: rect.col + rect.cols, style: theme.style(.outputTimestamp, on: .outputBg))
                    col += OutputRows.timestampWidth
                }
                drawRow(glyphs, line: line, highlights: highlights, into: &buffer, row: screenRow, col: col,
                        limit: rect.col + rect.cols, base: base, matchStyle: matchStyle, theme: theme)
                screenRow += 1
            }
        }
    }

    /// Breaks a line into rows of glyphs where `OutputRows` wraps it. With wrap off, one row
    /// starting `offset` cells in (a wide character cut by the offset shows as a space). A
    /// newline (only in a line the TUI composed: an expanded tool result; output lines never
    /// hold one) starts a new row.
    static func layoutRows(_ text: String, width: Int, wrap: Bool, offset: Int) -> [[Glyph]] {
        var rows: [[Glyph]] = [[]]
        var breaks: [Int] = []
        if wrap { OutputRows.forEachBreak(text, width: width) { breaks.append($0) } }
        var nextBreak = 0
        var col = 0
        var byte = 0
        for ch in text {
            let w = CharWidth.of(ch)
            let length = ch.utf8.count
            defer { byte += length }
            if ch == "\n" {
                // OutputRows reports the row after a newline as a break: it is this row.
                while nextBreak < breaks.count && breaks[nextBreak] <= byte + length { nextBreak += 1 }
                rows.append([])
                col = 0
                continue
            }
            if wrap {
                while nextBreak < breaks.count && byte >= breaks[nextBreak] {
                    rows.append([])
                    col = 0
                    nextBreak += 1
                }
            }
            if w == 0 {
                // Zero-width graphemes join the previous glyph's cell (attached by CellBuffer).
                if !rows[rows.count - 1].isEmpty { rows[rows.count - 1].append(Glyph(character: ch, offset: byte, width: 0)) }
                continue
            }
            if wrap {
                // Only a space swallowed by a break lies past the row's end.
                if col > 0 && col + w > width { continue }
                rows[rows.count - 1].append(Glyph(character: ch, offset: byte, width: w))
                col += w
            } else {
                let start = col
                col += w
                if col <= offset { continue }
                if start < offset {
                    // The wide character's left half is scrolled away.
                    rows[rows.count - 1].append(Glyph(character: " ", offset: byte, width: 1))
                    continue
                }
                if start - offset >= width {
                    // Past the pane: only a newline (a composed line) can start another row.
                    if rows.count == 1 && !text.utf8.contains(0x0A) { break }
                    continue
                }
                rows[rows.count - 1].append(Glyph(character: ch, offset: byte, width: w))
            }
        }
        return rows
    }

    static func drawRow(_ glyphs: [Glyph], line: OutputLine, highlights: [Range<Int>], into buffer: inout CellBuffer,
                        row: Int, col start: Int, limit: Int, base: CellStyle, matchStyle: CellStyle, theme: Theme) {
        var col = start
        var runIndex = line.runs.startIndex
        var highlightIndex = 0
        for glyph in glyphs {
            while runIndex < line.runs.endIndex && line.runs[runIndex].start + line.runs[runIndex].count <= glyph.offset {
                runIndex += 1
            }
            while highlightIndex < highlights.count && highlights[highlightIndex].upperBound <= glyph.offset {
                highlightIndex += 1
            }
            var style = base
            if runIndex < line.runs.endIndex && line.runs[runIndex].start <= glyph.offset {
                style = theme.style(for: line.runs[runIndex].style, base: base)
            }
            if highlightIndex < highlights.count && highlights[highlightIndex].contains(glyph.offset) {
                style = matchStyle
            }
            col = buffer.put(glyph.character, row: row, col: col, limit: limit, style: style)
        }
    }
}
