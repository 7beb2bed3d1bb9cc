// Render: the pure function from AppState to a CellBuffer. Each part of the screen has its
// own function below; all of them only draw what is visible.

import BridgeCore

/// Draws the whole screen for `state` at `size`.
public func render(state: AppState, size: Size) -> CellBuffer {
    var buffer = CellBuffer(rows: size.rows, cols: size.cols)
    let layout = Layout.compute(state: state, size: size)
    let theme = state.theme
    if layout.tooSmall {
        TooSmallView.draw(into: &buffer, size: size, state: state)
        return buffer
    }
    ListView.draw(into: &buffer, layout: layout, state: state)
    TitleView.draw(into: &buffer, layout: layout, state: state)
    OutputPaneView.draw(into: &buffer, rect: layout.output, state: state)
    if let health = layout.health { HealthView.draw(into: &buffer, rect: health, state: state) }
    PromptView.draw(into: &buffer, layout: layout, state: state)
    StatusBarView.draw(into: &buffer, rect: layout.status, state: state)
    switch state.focus {
    case .help: HelpView.draw(into: &buffer, size: size, state: state)
    case .outbox: OutboxView.draw(into: &buffer, size: size, state: state)
    case .turns: TurnsView.draw(into: &buffer, size: size, state: state)
    case .approval, .approvalReason: ApprovalView.draw(into: &buffer, size: size, state: state)
    default: break
    }
    _ = theme
    return buffer
}

/// The glyph and word for an instance's state; distinct glyphs keep states apart without colour.
enum StateGlyph {
    static func of(_ level: HealthLevel) -> (glyph: String, role: ThemeRole) {
        switch level {
        case .healthy: ("●", .stateOk)
        case .degraded: ("◐", .stateWarn)
        case .unhealthy: ("✖", .stateError)
        case .unknown: ("○", .stateUnknown)
        }
    }

    static func of(_ instance: InstanceState) -> (glyph: String, word: String, role: ThemeRole) {
        if !instance.isPresent { return ("○", "gone", .stateUnknown) }
        if instance.info.brokenReason != nil { return ("✖", "broken", .stateError) }
        let (glyph, role) = of(instance.health.level)
        return (glyph, instance.health.level.rawValue, role)
    }

    static func healthRole(_ level: HealthLevel) -> ThemeRole {
        switch level {
        case .healthy: .healthOk
        case .degraded: .healthWarn
        case .unhealthy: .healthError
        case .unknown: .healthUnknown
        }
    }
}

enum TooSmallView {
    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        let style = state.theme.style(.statusError)
        let plain = state.theme.style(.outputFg)
        let quit = state.keymap.label(for: .quit) ?? "q"
        let lines = [
            ("terminal too small", style),
            ("need \(Layout.minimum.cols)x\(Layout.minimum.rows), have \(size.cols)x\(size.rows)", plain),
            ("\(quit) quits", plain),
        ]
        let top = max(0, (size.rows - lines.count) / 2)
        for (i, (text, style)) in lines.enumerated() {
            let width = CharWidth.of(text)
            buffer.write(text, row: top + i, col: max(0, (size.cols - width) / 2), style: style)
        }
    }
}

enum ListView {
    /// First instance shown so the selection stays in view (pure: used by render and mouse).
    static func scrollOffset(selected: Int, count: Int, height: Int) -> Int {
        guard height > 0, count > height else { return 0 }
        return min(max(0, selected - height + 1), count - height)
    }

    static func draw(into buffer: inout CellBuffer, layout: Layout, state: AppState) {
        guard let rect = layout.list, let borderCol = layout.borderCol else { return }
        let theme = state.theme
        let focused = state.effectiveFocus == .list
        // The focused pane's border is drawn in the focus role.
        let border = theme.style(focused ? .focus : .border)
        for r in 0..<rect.rows { buffer.write("│", row: rect.row + r, col: borderCol, style: border) }
        let base = theme.style(.listFg)
        if state.instances.isEmpty && state.hosts.isEmpty {
            buffer.write(" no instances", row: rect.row, col: rect.col, limit: rect.col + rect.cols, style: theme.style(.stateUnknown))
            return
        }
        let selectedIndex = state.selectedIndex ?? -1
        let rows = ListRows.of(state)
        let offset = scrollOffset(selected: ListRows.selectedRow(rows, selected: state.selectedIndex), count: rows.count, height: rect.rows)
        for r in 0..<min(rect.rows, rows.count - offset) {
            let index: Int
            switch rows[offset + r] {
            case .host(let header):
                HostHeaderView.drawTitle(header, into: &buffer, row: rect.row + r, rect: rect, state: state)
                continue
            case .hostState(let header):
                HostHeaderView.drawState(header, into: &buffer, row: rect.row + r, rect: rect, state: state)
                continue
            case .instance(let at):
                index = at
            }
            let instance = state.instances[index]
            let isSelected = index == selectedIndex
            var rowStyle = isSelected ? theme.style(.listSelected) : base
            if isSelected && !focused {
                // Dimmed: the selection names the instance shown, but keys do not go to the list.
                rowStyle.attrs.remove(.bold)
                rowStyle.attrs.insert(.dim)
            }
            // A gone instance (its pipes vanished) is dimmed until it is back or removed.
            if !instance.isPresent { rowStyle.attrs.insert(.dim) }
            let row = rect.row + r
            let end = rect.col + rect.cols
            buffer.fill(row: row, col: rect.col, rows: 1, cols: rect.cols, style: rowStyle)
            let (glyph, _, role) = StateGlyph.of(instance)
            var glyphStyle = theme.style(role)
            if isSelected {
                glyphStyle.bg = rowStyle.bg
                glyphStyle.attrs.formUnion(rowStyle.attrs)
            }
            var col = buffer.write(isSelected ? (focused ? "▌" : " ") : " ", row: row, col: rect.col, limit: end, style: rowStyle)
            col = buffer.write(glyph, row: row, col: col, limit: end, style: glyphStyle)
            col = buffer.write(" ", row: row, col: col, limit: end, style: rowStyle)
            var counts = instance.isPresent ? "" : "gone"
            // What it does and what its Claude session cost so far (idle says nothing).
            if instance.isPresent, let word = SessionWording.listActivity(instance.activity) { counts += word }
            if let cost = instance.transcript.costUSD { counts += (counts.isEmpty ? "" : " ") + ClaudeTranscript.cost(cost) }
            if instance.unread > 0 { counts += (counts.isEmpty ? "" : " ") + "+\(instance.unread > 9999 ? "9999" : String(instance.unread))" }
            if instance.queued > 0 { counts += (counts.isEmpty ? "" : " ") + "q\(instance.queued)" }
            // A badge for an approval waiting: `p` answers it from here.
            if !instance.transcript.approvals.isEmpty { counts = "!" + (counts.isEmpty ? "" : " ") + counts }
            let countsWidth = counts.isEmpty ? 0 : CharWidth.of(counts) + 1
            let nameLimit = end - countsWidth
            // Under its host's header the host prefix is left out ("claude-1", not "build1/claude-1").
            var shownName = instance.name
            if let host = HostHeader.host(of: shownName), state.hosts.contains(where: { $0.name == host }) {
                shownName = String(shownName.dropFirst(host.count + 1))
            }
            let name = Truncate.tail(shownName, width: nameLimit - col)
            buffer.write(name, row: row, col: col, limit: nameLimit, style: rowStyle)
            if !counts.isEmpty {
                var countStyle = isSelected ? rowStyle : theme.style(instance.transcript.approvals.isEmpty ? .listUnread : .stateWarn)
                if isSelected { countStyle.attrs.insert(.bold) }
                buffer.write(counts, row: row, col: max(col, end - CharWidth.of(counts)), limit: end, style: countStyle)
            }
        }
    }
}

/// A remote host's two header rows in the instance list: its name, then its connection state.
enum HostHeaderView {
    static func drawTitle(_ header: HostHeader, into buffer: inout CellBuffer, row: Int, rect: Rect, state: AppState) {
        let border = state.theme.style(.border)
        let end = rect.col + rect.cols
        for c in rect.col..<end { buffer.write("─", row: row, col: c, style: border) }
        buffer.write(" " + Truncate.tail(header.name, width: rect.cols - 3) + " ", row: row, col: rect.col + 1, limit: end,
                     style: state.theme.style(.titleFg))
    }

    static func drawState(_ header: HostHeader, into buffer: inout CellBuffer, row: Int, rect: Rect, state: AppState) {
        let theme = state.theme
        let end = rect.col + rect.cols
        buffer.fill(row: row, col: rect.col, rows: 1, cols: rect.cols, style: theme.style(.listFg))
        let (glyph, role) = StateGlyph.of(header.level)
        var col = buffer.write(" " + glyph + " ", row: row, col: rect.col, limit: end, style: theme.style(role))
        var text = theme.style(header.level == .unhealthy ? .stateError : .stateUnknown)
        if header.level == .healthy { text = theme.style(.listFg); text.attrs.insert(.dim) }
        col = buffer.write(Truncate.tail(header.stateText, width: end - col), row: row, col: col, limit: end, style: text)
    }
}

enum Truncate {
    /// Cuts text to `width` cells, ending in "…" when cut.
    static func tail(_ text: String, width: Int) -> String {
        guard width > 0 else { return "" }
        if CharWidth.of(text) <= width { return text }
        var out = ""
        var used = 0
        for ch in text {
            let w = CharWidth.of(ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return out + "…"
    }

    /// Cuts text from the left ("…/pipes/api.out.fifo").
    static func head(_ text: String, width: Int) -> String {
        guard width > 0 else { return "" }
        if CharWidth.of(text) <= width { return text }
        var out: [Character] = []
        var used = 0
        for ch in text.reversed() {
            let w = CharWidth.of(ch)
            if used + w > width - 1 { break }
            out.append(ch)
            used += w
        }
        return "…" + String(out.reversed())
    }
}

enum TitleView {
    static func draw(into buffer: inout CellBuffer, layout: Layout, state: AppState) {
        let rect = layout.title
        let theme = state.theme
        let style = theme.style(.titleFg, on: .titleBg)
        buffer.fill(row: rect.row, col: rect.col, rows: 1, cols: rect.cols, style: style)
        guard let instance = state.activeInstance else {
            buffer.write(" cc-bridge", row: rect.row, col: rect.col, limit: rect.col + rect.cols, style: style)
            return
        }
        let end = rect.col + rect.cols
        // Right: follow state, then the view's flags.
        var right: [String] = []
        if instance.filter.isActive { right.append("filter: \(instance.filter.query)") }
        if !instance.view.wrap { right.append("nowrap" + (instance.view.horizontalOffset > 0 ? " +\(instance.view.horizontalOffset)" : "")) }
        let paused = !instance.view.follow
        let indicator = paused
            ? SessionWording.pausedIndicator(new: instance.view.newWhilePaused, dropped: instance.droppedWhilePaused)
            : "following"
        var rightText = (right + [indicator]).joined(separator: " · ") + " "
        if CharWidth.of(rightText) > rect.cols / 2 { rightText = indicator + " " }
        let rightStart = end - CharWidth.of(rightText)
        var plainPart = rightText
        if paused {
            plainPart = String(rightText.dropLast(indicator.count + 1))
            buffer.write(indicator, row: rect.row, col: end - indicator.count - 1, limit: end, style: theme.style(.titlePaused, on: .titleBg))
        }
        buffer.write(plainPart, row: rect.row, col: rightStart, limit: end, style: style)
        // Left: name, state word, stream state, pipe path (cut from the left to fit).
        let (glyph, word, role) = StateGlyph.of(instance)
        // The name is the output pane's title: in the focus role while the pane has focus.
        var nameStyle = state.effectiveFocus == .output ? theme.style(.focus, on: .titleBg) : style
        nameStyle.bg = style.bg
        var col = buffer.write(" \(instance.name) ", row: rect.row, col: rect.col, limit: rightStart - 1, style: nameStyle)
        var glyphStyle = theme.style(role)
        glyphStyle.bg = style.bg
        col = buffer.write(glyph, row: rect.row, col: col, limit: rightStart - 1, style: glyphStyle)
        var details = " " + word
        if let reason = instance.info.brokenReason { details += ": " + reason }
        else if !instance.health.reason.isEmpty && instance.health.level != .healthy { details += ": " + instance.health.reason }
        if !instance.streamState.isEmpty { details += " · " + instance.streamState }
        if instance.activity != .idle { details += " · " + SessionWording.activity(instance.activity) }
        var plain = style
        plain.attrs.remove(.bold)
        col = buffer.write(details, row: rect.row, col: col, limit: rightStart - 1, style: plain)
        let room = rightStart - 1 - col - 2
        if room >= 8 && !instance.info.outPath.isEmpty {
            buffer.write("  " + Truncate.head(instance.info.outPath, width: room), row: rect.row, col: col, limit: rightStart - 1, style: plain)
        }
    }
}
