// PanelViews: the health panel, the prompt box, the status bar and the help overlay.

enum HealthView {
    /// How many past states the trend column shows.
    static let trendShown = 10

    static func pad(_ text: String, _ width: Int) -> String {
        let w = CharWidth.of(text)
        return w >= width ? text : text + String(repeating: " ", count: width - w)
    }

    /// "12s", "5m", "3h", "2d".
    static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "-" }
        let s = Int(max(0, seconds))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" }
        return "\(s / 86_400)d"
    }

    static func draw(into buffer: inout CellBuffer, rect: Rect, state: AppState) {
        let theme = state.theme
        let base = theme.style(.outputFg, on: .outputBg)
        buffer.fill(row: rect.row, col: rect.col, rows: rect.rows, cols: rect.cols, style: base)
        let border = theme.style(.border)
        let end = rect.col + rect.cols
        for c in rect.col..<end { buffer.write("─", row: rect.row, col: c, style: border) }
        var col = buffer.write("─ Health ", row: rect.row, col: rect.col, limit: end, style: theme.style(.titleFg))
        // Legend, so colours and glyphs never have to be guessed.
        col += 1
        for level in HealthLevel.allCases {
            let (glyph, _) = StateGlyph.of(level)
            col = buffer.write(glyph, row: rect.row, col: col, limit: end, style: theme.style(StateGlyph.healthRole(level)))
            col = buffer.write(" \(level.rawValue) ", row: rect.row, col: col, limit: end, style: border)
        }
        if !state.healthEnabled {
            buffer.write(" health checks are disabled (docker.health.enabled: false)", row: rect.row + 1, col: rect.col, limit: end,
                         style: theme.style(.stateUnknown))
            return
        }
        if state.healthRows.isEmpty {
            buffer.write(" no health data yet", row: rect.row + 1, col: rect.col, limit: end, style: theme.style(.stateUnknown))
            return
        }
        let nameWidth = min(24, max(10, state.healthRows.map { CharWidth.of($0.component) }.max() ?? 10))
        for (i, item) in state.healthRows.prefix(rect.rows - 1).enumerated() {
            let row = rect.row + 1 + i
            let role = StateGlyph.healthRole(item.level)
            let (glyph, _) = StateGlyph.of(item.level)
            var c = buffer.write(" " + glyph + " ", row: row, col: rect.col, limit: end, style: theme.style(role))
            c = buffer.write(Truncate.tail(item.component, width: nameWidth), row: row, col: c, limit: end, style: base)
            c = rect.col + 3 + nameWidth + 1
            buffer.write(item.level.rawValue, row: row, col: c, limit: end, style: theme.style(role))
            c = rect.col + 3 + nameWidth + 11
            if !item.trend.isEmpty || item.uptime != nil {
                // Trend: the last states as glyphs, oldest left, padded on the left.
                let trend = item.trend.suffix(trendShown)
                c += trendShown - trend.count
                for level in trend {
                    c = buffer.write(StateGlyph.of(level).glyph, row: row, col: c, limit: end, style: theme.style(StateGlyph.healthRole(level)))
                }
                c += 1
                var facts = "up " + duration(item.uptime(at: state.now))
                if item.recoveries > 0 { facts += " rec \(item.recoveries)" }
                c = buffer.write(pad(facts, 12), row: row, col: c, limit: end, style: border)
                if CharWidth.of(facts) >= 12 { c += 1 }   // a full column still ends in a space before the reason
            }
            var text = item.reason
            if !item.detail.isEmpty { text += (text.isEmpty ? "" : " · ") + item.detail }
            buffer.write(text, row: row, col: c, limit: end, style: base)
        }
    }
}

enum PromptView {
    static func draw(into buffer: inout CellBuffer, layout: Layout, state: AppState) {
        let theme = state.theme
        let border = theme.style(.border)
        let sep = layout.promptSeparator
        let end = sep.col + sep.cols
        for c in sep.col..<end { buffer.write("─", row: sep.row, col: c, style: border) }
        let rect = layout.prompt
        let style = theme.style(.promptFg)
        buffer.fill(row: rect.row, col: rect.col, rows: rect.rows, cols: rect.cols, style: style)
        guard let instance = state.activeInstance else { return }
        let focused = state.focus == .prompt
        var label = " prompt → \(instance.name) "
        if !instance.isPresent { label = " \(instance.name) is gone " }
        let labelStyle = focused ? theme.style(.focus) : border
        let col = buffer.write(label, row: sep.row, col: sep.col + 1, limit: end, style: labelStyle)
        var right: [String] = []
        if !instance.search.query.isEmpty {
            // The committed search and its match count, at the bottom edge of the output pane.
            let held = instance.search.matches.lowerBound(instance.scrollback.firstLineNumber)
            let count = instance.search.matches.count - held
            let position = instance.search.current.map { instance.search.matches.lowerBound($0) - held + 1 }
            let query = (instance.search.regex ? "re/" : "/") + Excerpt.of(instance.search.query, 20)
            right.append(query + " " + (position.map { "\($0) of \(count)" } ?? "\(count) match\(count == 1 ? "" : "es")"))
        }
        if !instance.inFlight.isEmpty { right.append("sending…") }
        if instance.queued > 0 { right.append("\(instance.queued) queued") }
        if instance.prompt.lineCount > 1 { right.append("\(instance.prompt.lineCount) lines") }
        if !right.isEmpty {
            let text = " " + right.joined(separator: " · ") + " "
            let start = max(col + 1, end - 1 - CharWidth.of(text))
            buffer.write(text, row: sep.row, col: start, limit: end, style: border)
        }
        let width = rect.cols - PromptLayout.prefixWidth
        let rows = PromptLayout.rows(of: instance.prompt, width: width)
        let cursor = PromptLayout.cursorPosition(of: instance.prompt, width: width)
        let first = max(0, cursor.row - rect.rows + 1)
        if instance.prompt.isEmpty && !focused {
            buffer.write("> ", row: rect.row, col: rect.col, style: theme.style(.promptLabel))
            let hint = "\(state.keymap.label(for: .enterPrompt) ?? "i") to type a prompt"
            buffer.write(hint, row: rect.row, col: rect.col + 2, limit: rect.col + rect.cols, style: theme.style(.stateUnknown))
            return
        }
        for r in 0..<rect.rows {
            let index = first + r
            guard index < rows.count else { break }
            let prefix = index == 0 ? "> " : (rows[index].firstOfLine ? "… " : "  ")
            buffer.write(prefix, row: rect.row + r, col: rect.col, style: theme.style(.promptLabel))
            let text = String(instance.prompt.characters[rows[index].range])
            buffer.write(text, row: rect.row + r, col: rect.col + PromptLayout.prefixWidth, limit: rect.col + rect.cols, style: style)
        }
        if focused {
            buffer.cursor = CursorPosition(row: rect.row + cursor.row - first, col: rect.col + PromptLayout.prefixWidth + min(cursor.col, width - 1))
        }
    }
}

enum StatusBarView {
    /// Short names for the hints; the keys come from the keymap.
    static func hintName(_ command: Command) -> String {
        switch command {
        case .toggleHelp: "help"
        case .quit: "quit"
        case .enterPrompt: "prompt"
        case .attach: "attach"
        case .detach: "detach"
        case .search: "search"
        case .filter: "filter"
        case .toggleHealth: "health"
        case .submitPrompt: "send"
        case .insertNewline: "newline"
        case .leavePrompt: "leave"
        case .cancelPrompt: "interrupt/clear"
        case .followTail: "follow"
        case .confirmInput: "apply"
        case .cancelInput: "cancel"
        case .closeOverlay: "close"
        case .cancelQueued: "cancel"
        case .jumpToTurn: "jump"
        case .resendTurn: "re-send"
        case .scrollDown: "next"
        case .scrollUp: "previous"
        case .pageDown: "page down"
        case .pageUp: "page up"
        case .showApproval: "approve"
        case .allowOnce: "allow once"
        case .allowSession: "allow for session"
        case .denyApproval: "deny"
        case .sendDenial: "send denial"
        default: command.rawValue
        }
    }

    static func hints(for state: AppState) -> [Command] {
        switch state.focus {
        case .prompt: [.submitPrompt, .insertNewline, .leavePrompt, .cancelPrompt, state.isAttached ? .detach : .toggleHelp]
        case .search, .filter: [.confirmInput, .cancelInput]
        case .help: [.closeOverlay, .pageDown, .pageUp]
        case .outbox: [.scrollDown, .scrollUp, .cancelQueued, .closeOverlay]
        case .turns: [.scrollDown, .scrollUp, .jumpToTurn, .resendTurn, .closeOverlay]
        case .approval: [.allowOnce, .allowSession, .denyApproval, .closeOverlay]
        case .approvalReason: [.sendDenial, .closeOverlay]
        case .list, .output:
            // An approval waiting on the instance shown comes first: it is what the user must do.
            ((state.activeInstance.map { !$0.transcript.approvals.isEmpty } ?? false) ? [.showApproval] : [])
                + [.toggleHelp, .quit, .enterPrompt, state.isAttached ? .detach : .attach, .search, .filter, .toggleHealth]
                + ((state.activeInstance.map { !$0.view.follow } ?? false) ? [.followTail] : [])
        }
    }

    static func draw(into buffer: inout CellBuffer, rect: Rect, state: AppState) {
        let theme = state.theme
        let style = theme.style(.statusFg, on: .statusBg)
        buffer.fill(row: rect.row, col: rect.col, rows: 1, cols: rect.cols, style: style)
        let end = rect.col + rect.cols
        switch state.focus {
        case .search, .filter, .approvalReason:
            let label = state.focus == .search ? (state.entryRegex ? "re/" : "/") : state.focus == .filter ? "filter: " : "deny, reason: "
            let col = buffer.write(label, row: rect.row, col: rect.col, limit: end, style: theme.style(.statusKey, on: .statusBg))
            let text = state.entry.text
            buffer.write(text, row: rect.row, col: col, limit: end, style: style)
            let cursorCol = col + CharWidth.of(String(state.entry.characters[..<state.entry.cursor]))
            buffer.cursor = CursorPosition(row: rect.row, col: min(end - 1, cursorCol))
            return
        default:
            break
        }
        if let status = state.status {
            let role: ThemeRole = status.kind == .error ? .statusError : .statusFg
            buffer.fill(row: rect.row, col: rect.col, rows: 1, cols: rect.cols, style: theme.style(role, on: .statusBg))
            buffer.write(" " + status.text, row: rect.row, col: rect.col, limit: end, style: theme.style(role, on: .statusBg))
            return
        }
        var col = rect.col + 1
        for command in hints(for: state) {
            // Only keys that work where focus is (in the prompt, Ctrl-] detaches; `d` is text).
            guard let key = state.keymap.label(for: command, focus: state.effectiveFocus) else { continue }
            let name = hintName(command)
            if col + CharWidth.of(key) + 1 + name.count > end { break }
            col = buffer.write(key, row: rect.row, col: col, limit: end, style: theme.style(.statusKey, on: .statusBg))
            col = buffer.write(" " + name + "  ", row: rect.row, col: col, limit: end, style: style)
        }
    }
}

enum HelpView {
    typealias Line = (keys: String, text: String, isTitle: Bool)

    /// Where the help box goes: its outer width, the rows inside the border, its corner.
    static func geometry(_ size: Size) -> (width: Int, inner: Int, top: Int, left: Int) {
        let width = min(size.cols - 4, 78)
        return (width, max(1, size.rows - 4), 1, (size.cols - width) / 2)
    }

    static func keyWidth(_ width: Int) -> Int { min(22, width / 3) }

    /// The help text, generated from the keymap and the legend; descriptions are wrapped at word
    /// boundaries to fit a box `width` columns wide (continuation lines have no keys).
    static func lines(_ keymap: Keymap, width: Int = Int.max / 2) -> [Line] {
        let textWidth = max(8, width - 5 - keyWidth(width))
        var result: [Line] = []
        func add(_ keys: String, _ text: String) {
            for (i, part) in wrap(text, width: textWidth).enumerated() { result.append((i == 0 ? keys : "", part, false)) }
        }
        for group in Keymap.groups {
            let bindings = keymap.bindings.filter { $0.group == group && !$0.keys.isEmpty }
            guard !bindings.isEmpty else { continue }
            if !result.isEmpty { result.append(("", "", false)) }
            result.append(("", group, true))
            for binding in bindings { add(binding.keys.map(\.label).joined(separator: " "), binding.description) }
        }
        result.append(("", "", false))
        result.append(("", "Rules", true))
        for rule in Keymap.rules { add("•", rule) }
        result.append(("", "", false))
        result.append(("", "Legend", true))
        for entry in Legend.entries { add(entry.symbol, entry.meaning + " (" + entry.where_ + ")") }
        return result
    }

    /// Splits `text` into rows of at most `width` cells, at spaces when a word fits on a row.
    static func wrap(_ text: String, width: Int) -> [String] {
        guard CharWidth.of(text) > width, width > 0 else { return [text] }
        var rows: [String] = []
        var row = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = row.isEmpty ? word : row + " " + word
            if CharWidth.of(candidate) <= width { row = candidate; continue }
            if !row.isEmpty { rows.append(row) }
            row = word
            while CharWidth.of(row) > width {   // a word longer than a row is cut
                var head = "", used = 0
                for ch in row {
                    if used + CharWidth.of(ch) > width { break }
                    head.append(ch)
                    used += CharWidth.of(ch)
                }
                rows.append(head)
                row = String(row.dropFirst(head.count))
            }
        }
        if !row.isEmpty { rows.append(row) }
        return rows
    }

    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        let theme = state.theme
        let (width, inner, top, left) = geometry(size)
        let style = theme.style(.helpFg, on: .helpBg)
        let border = theme.style(.border, on: .helpBg)
        let right = left + width - 1, bottom = top + inner + 1
        var close = state.keymap.bindings.filter { $0.command == .closeOverlay && $0.contexts.contains(.help) }.flatMap(\.keys)
        close += state.keymap.binding(for: .toggleHelp)?.keys.prefix(1) ?? []
        OverlayBox.draw(into: &buffer, size: size, state: state,
                        title: " Keys (\(close.map(\.label).joined(separator: " ")) close · j/k PgUp/PgDn scroll) ")
        let all = lines(state.keymap, width: width)
        let scroll = min(state.helpScroll, max(0, all.count - inner))
        let keyWidth = keyWidth(width)
        for (i, line) in all.dropFirst(scroll).prefix(inner).enumerated() {
            let row = top + 1 + i
            if line.isTitle {
                buffer.write(line.text, row: row, col: left + 2, limit: right, style: theme.style(.helpTitle, on: .helpBg))
            } else {
                buffer.write(Truncate.tail(line.keys, width: keyWidth), row: row, col: left + 2, limit: right, style: theme.style(.helpKey, on: .helpBg))
                buffer.write(line.text, row: row, col: left + 3 + keyWidth, limit: right - 1, style: style)
            }
        }
        if all.count > inner + scroll {
            buffer.write(" more ↓ ", row: bottom, col: right - 9, limit: right, style: border)
        }
    }
}
