// OverlayViews: the framed lists drawn over the screen for the outbox (queued prompts) and the
// turn history of the active instance. Both are pure functions of AppState, like the help.

import BridgeCore

/// A framed box in the middle of the screen (shared by the help and the list overlays).
enum OverlayBox {
    /// Draws the frame and title; returns the inner rectangle.
    @discardableResult
    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState, title: String) -> Rect {
        let theme = state.theme
        let width = min(size.cols - 4, 78)
        let height = size.rows - 2
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

    static func key(_ state: AppState, _ command: Command, _ fallback: String) -> String {
        state.keymap.label(for: command) ?? fallback
    }
}

enum OutboxView {
    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        guard let instance = state.activeInstance else { return }
        let theme = state.theme
        let title = " Queued for \(instance.name): \(instance.queue.count) (\(OverlayBox.key(state, .cancelQueued, "x")) cancels, "
            + "\(OverlayBox.key(state, .closeOverlay, "Esc")) closes) "
        let inner = OverlayBox.draw(into: &buffer, size: size, state: state, title: title)
        let style = theme.style(.helpFg, on: .helpBg)
        let end = inner.col + inner.cols
        guard !instance.queue.isEmpty else {
            buffer.write("nothing queued: prompts wait here while no agent listens", row: inner.row, col: inner.col, limit: end, style: style)
            return
        }
        buffer.write("delivered in this order as soon as the agent reads again", row: inner.row, col: inner.col, limit: end,
                     style: theme.style(.stateUnknown, on: .helpBg))
        let listRows = inner.rows - 1
        let offset = OverlayBox.offset(selected: state.overlaySelection, count: instance.queue.count, height: listRows)
        for (i, entry) in instance.queue.enumerated().dropFirst(offset).prefix(listRows) {
            let row = inner.row + 1 + i - offset
            let selected = i == state.overlaySelection
            let rowStyle = selected ? theme.style(.listSelected) : style
            buffer.fill(row: row, col: inner.col, rows: 1, cols: inner.cols, style: rowStyle)
            let time = TimeFormat.clock(entry.queuedAt + Double(state.timeZoneOffset))
            let head = "\(selected ? "▌" : " ")\(i + 1). \(time)  "
            let col = buffer.write(head, row: row, col: inner.col, limit: end, style: rowStyle)
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
        let inner = OverlayBox.draw(into: &buffer, size: size, state: state, title: title)
        let style = theme.style(.helpFg, on: .helpBg)
        let end = inner.col + inner.cols
        guard !instance.turns.isEmpty else {
            buffer.write("no turns yet", row: inner.row, col: inner.col, limit: end, style: style)
            return
        }
        buffer.write("  status       sent      first  total  prompt", row: inner.row, col: inner.col, limit: end,
                     style: theme.style(.helpKey, on: .helpBg))
        let listRows = inner.rows - 1
        let offset = OverlayBox.offset(selected: state.overlaySelection, count: instance.turns.count, height: listRows)
        for (i, turn) in instance.turns.enumerated().dropFirst(offset).prefix(listRows) {
            let row = inner.row + 1 + i - offset
            let selected = i == state.overlaySelection
            let rowStyle = selected ? theme.style(.listSelected) : style
            buffer.fill(row: row, col: inner.col, rows: 1, cols: inner.cols, style: rowStyle)
            var col = buffer.write(selected ? "▌" : " ", row: row, col: inner.col, limit: end, style: rowStyle)
            let (mark, role) = glyph(turn.status)
            var markStyle = theme.style(role, on: .helpBg)
            if selected { markStyle = rowStyle }
            col = buffer.write(mark, row: row, col: col, limit: end, style: markStyle)
            let status = turn.status.rawValue + (turn.restored ? "ʰ" : "")
            let text = " " + HealthView.pad(status, 12) + HealthView.pad(TimeFormat.clock(turn.sentAt + Double(state.timeZoneOffset)), 10)
                + HealthView.pad(seconds(turn.ttfb), 7) + HealthView.pad(seconds(turn.duration), 7)
            col = buffer.write(text, row: row, col: col, limit: end, style: rowStyle)
            buffer.write(Excerpt.of(turn.prompt, max(1, end - col)), row: row, col: col, limit: end, style: rowStyle)
        }
    }
}
