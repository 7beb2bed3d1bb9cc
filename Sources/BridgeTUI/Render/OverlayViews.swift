// OverlayViews: the framed lists drawn over the screen for the outbox (queued prompts) and the
// turn history of the active instance. Both are pure functions of AppState, like the help.

import BridgeCore

/// A framed box in the middle of the screen (shared by the help and the list overlays).
enum OverlayBox {
    /// Draws the frame and title; returns the inner rectangle.
    @discardableResult
    /// The box's inner width on a screen of `size` (what `draw` returns as `cols`).
    static func innerCols(_ size: Size) -> Int { min(size.cols - 4, 78) - 4 }

    /// `contentRows`: a box just tall enough for that many lines (up to the full height).
    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState, title: String, contentRows: Int? = nil) -> Rect {
        let theme = state.theme
        let width = min(size.cols - 4, 78)
        let height = contentRows.map { min(size.rows - 2, max(3, $0 + 2)) } ?? size.rows - 2
        let top = 1, left = (size.cols - width) / 2
        let style = theme.style(.helpFg, on: .helpBg)
        buffer.fill(row: top, col: left, rows: height, cols: width, style: style)
        let border = theme.style(.border, on: .helpBg)
        let right = left + width - 1, bottom = top + height - 1
        for c in left...right {
            buffer.write("─", row: top, col: c, style: border)
            buffer.write("─", row: bottom, col: c, style: border)
        }
        for r in top...bottom {
            buffer.write("│", row: r, col: left, style: border)
            buffer.write("│", row: r, col: right, style: border)
        }
        buffer.write("┌", row: top, col: left, style: border)
        buffer.write("┐", row: top, col: right, style: border)
        buffer.write("└", row: bottom, col: left, style: border)
        buffer.write("┘", row: bottom, col: right, style: border)
        buffer.write(title, row: top, col: left + 2, limit: right, style: theme.style(.helpTitle, on: .helpBg))
        return Rect(row: top + 1, col: left + 2, rows: height - 2, cols: width - 4)
    }

    /// First entry shown so that `selected` stays visible.
    static func offset(selected: Int, count: Int, height: Int) -> Int {
        ListView.scrollOffset(selected: selected, count: count, height: height)
    }

    /// A framed list of `count` entries with one selectable row each: the title, `empty` when there
    /// are none, else a `heading` line in `headingRole` and the rows that keep the selection in
    /// view. `drawRow` fills one row from `col`, up to `end`, in the row style it is given.
    static func drawList(into buffer: inout CellBuffer, size: Size, state: AppState, title: String, count: Int,
                         empty: String, heading: String, headingRole: ThemeRole,
                         drawRow: (_ buffer: inout CellBuffer, _ index: Int, _ row: Int, _ col: Int, _ end: Int,
                                   _ selected: Bool, _ style: CellStyle) -> Void) {
        let theme = state.theme
        let inner = draw(into: &buffer, size: size, state: state, title: title)
        let style = theme.style(.helpFg, on: .helpBg)
        let end = inner.col + inner.cols
        guard count > 0 else {
            buffer.write(empty, row: inner.row, col: inner.col, limit: end, style: style)
            return
        }
        buffer.write(heading, row: inner.row, col: inner.col, limit: end, style: theme.style(headingRole, on: .helpBg))
        let listRows = inner.rows - 1
        let first = offset(selected: state.overlaySelection, count: count, height: listRows)
        for i in first..<min(count, first + max(0, listRows)) {
            let row = inner.row + 1 + i - first
            let selected = i == state.overlaySelection
            let rowStyle = selected ? theme.style(.listSelected) : style
            buffer.fill(row: row, col: inner.col, rows: 1, cols: inner.cols, style: rowStyle)
            drawRow(&buffer, i, row, inner.col, end, selected, rowStyle)
        }
    }

    static func key(_ state: AppState, _ command: Command, _ fallback: String) -> String {
        state.keymap.label(for: command) ?? fallback
    }
}

enum OutboxView {
    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        guard let instance = state.activeInstance else { return }
        let title = " Queued for \(instance.name): \(instance.queue.count) (\(OverlayBox.key(state, .cancelQueued, "x")) cancels, "
            + "\(OverlayBox.key(state, .closeOverlay, "Esc")) closes) "
        OverlayBox.drawList(into: &buffer, size: size, state: state, title: title, count: instance.queue.count,
                            empty: "nothing queued: prompts wait here while no agent listens",
                            heading: "delivered in this order as soon as the agent reads again",
                            headingRole: .stateUnknown) { buffer, i, row, col, end, selected, rowStyle in
            let entry = instance.queue[i]
            let time = TimeFormat.clock(entry.queuedAt + Double(state.timeZoneOffset))
            let head = "\(selected ? "▌" : " ")\(i + 1). \(time)  "
            let col = buffer.write(head, row: row, col: col, limit: end, style: rowStyle)
            buffer.write(Excerpt.of(entry.text, max(1, end - col)), row: row, col: col, limit: end, style: rowStyle)
        }
    }
}

enum TurnsView {
    static func glyph(_ status: TurnStatus) -> (String, ThemeRole) {
        switch status {
        case .completed: ("●", .stateOk)
        case .failed, .timeout: ("✖", .stateError)
        case .interrupted: ("◐", .stateWarn)
        case .pending, .active: ("○", .stateUnknown)
        }
    }

    static func seconds(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value < 10 { return String(Int(value * 10) / 10) + "." + String(Int(value * 10) % 10) + "s" }
        if value < 600 { return "\(Int(value))s" }
        return "\(Int(value / 60))m"
    }

    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        guard let instance = state.activeInstance else { return }
        let theme = state.theme
        let title = " Turns of \(instance.name) (\(OverlayBox.key(state, .jumpToTurn, "Enter")) jumps, "
            + "\(OverlayBox.key(state, .resendTurn, "R")) re-sends, \(OverlayBox.key(state, .closeOverlay, "Esc")) closes) "
        OverlayBox.drawList(into: &buffer, size: size, state: state, title: title, count: instance.turns.count,
                            empty: "no turns yet", heading: "  status       sent      first  total  prompt",
                            headingRole: .helpKey) { buffer, i, row, col, end, selected, rowStyle in
            let turn = instance.turns[i]
            var col = buffer.write(selected ? "▌" : " ", row: row, col: col, limit: end, style: rowStyle)
            let (mark, role) = glyph(turn.status)
            col = buffer.write(mark, row: row, col: col, limit: end, style: selected ? rowStyle : theme.style(role, on: .helpBg))
            let status = turn.status.rawValue + (turn.restored ? "ʰ" : "")
            let text = " " + HealthView.pad(status, 12) + HealthView.pad(TimeFormat.clock(turn.sentAt + Double(state.timeZoneOffset)), 10)
                + HealthView.pad(seconds(turn.ttfb), 7) + HealthView.pad(seconds(turn.duration), 7)
            col = buffer.write(text, row: row, col: col, limit: end, style: rowStyle)
            buffer.write(Excerpt.of(turn.prompt, max(1, end - col)), row: row, col: col, limit: end, style: rowStyle)
        }
    }
}
