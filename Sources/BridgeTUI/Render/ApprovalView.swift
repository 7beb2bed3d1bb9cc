// ApprovalView: the overlay for a Claude permission request: which instance asks, for which
// tool, its summary and its input (sanitized, wrapped and cut to the box), and the keys that
// answer it. Pure, like the other overlays; the keys' labels come from the keymap.

import BridgeCore

enum ApprovalView {
    /// The text lines of the overlay for a box `width` columns wide (pure; tests read them).
    static func lines(_ state: AppState, width: Int, rows: Int) -> [(text: String, role: ThemeRole)] {
        guard let (name, request) = state.shownApproval else { return [("no approval waits", .stateUnknown)] }
        let waiting = state.instance(named: name)?.transcript.approvals.count ?? 1
        var out: [(String, ThemeRole)] = []
        func wrapped(_ label: String, _ text: String, _ role: ThemeRole) {
            let pad = String(repeating: " ", count: label.count)
            for (i, part) in HelpView.wrap(text, width: max(8, width - label.count)).enumerated() {
                out.append(((i == 0 ? label : pad) + part, role))
            }
        }
        wrapped("instance ", ClaudeTranscript.oneLine(name, limit: 80), .helpFg)
        wrapped("tool     ", ClaudeTranscript.oneLine(request.tool, limit: 80), .helpKey)
        if !request.summary.isEmpty { wrapped("summary  ", ClaudeTranscript.oneLine(request.summary, limit: 400), .helpFg) }
        out.append(("input:", .helpKey))
        // The input, bounded: what fits above the key lines.
        let room = max(1, rows - out.count - 3)
        var input: [String] = []
        for line in ClaudeTranscript.lines(request.input, maxLines: 200, width: 1000) {
            input += HelpView.wrap(line, width: max(8, width - 2)).map { "  " + $0 }
            if input.count > room { break }
        }
        if input.count > room { input = Array(input.prefix(room - 1)) + ["  … (cut to fit)"] }
        out += input.map { ($0, ThemeRole.helpFg) }
        out.append(("", .helpFg))
        let key = { (command: Command, fallback: String) in OverlayBox.key(state, command, fallback) }
        // The keys, wrapped between answers, never cut off at the box's edge.
        let answers = ["\(key(.allowOnce, "y")) allow once", "\(key(.allowSession, "A")) allow \(ClaudeTranscript.oneLine(request.tool, limit: 24)) for the session",
                       "\(key(.denyApproval, "n")) deny", "Esc leave it waiting"]
        var legend = ""
        for answer in answers {
            if !legend.isEmpty && legend.count + 3 + answer.count > width {
                out.append((legend, .helpKey))
                legend = ""
            }
            legend += (legend.isEmpty ? "" : "   ") + answer
        }
        if !legend.isEmpty { out.append((legend, .helpKey)) }
        if waiting > 1 { out.append(("\(waiting - 1) more request\(waiting == 2 ? "" : "s") from \(name) after this one", .stateUnknown)) }
        return out
    }

    static func draw(into buffer: inout CellBuffer, size: Size, state: AppState) {
        let name = state.shownApproval?.instance ?? ""
        let title = " \(ClaudeTranscript.oneLine(name, limit: 40)) asks for permission "
        // As tall as what it says: the output behind it stays in view.
        let shown = lines(state, width: OverlayBox.innerCols(size), rows: size.rows - 4)
        let inner = OverlayBox.draw(into: &buffer, size: size, state: state, title: title, contentRows: shown.count)
        let end = inner.col + inner.cols
        for (i, line) in shown.prefix(inner.rows).enumerated() {
            buffer.write(line.text, row: inner.row + i, col: inner.col, limit: end, style: state.theme.style(line.role, on: .helpBg))
        }
    }
}
