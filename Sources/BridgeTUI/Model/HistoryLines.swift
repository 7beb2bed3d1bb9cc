// HistoryLines: the scrollback lines that show a turn restored from the history file.

import BridgeCore

/// The scrollback lines that show a turn (restored, or a prompt just accepted): `❯ prompt` in the
/// theme's `output.prompt` role, the response (dim), and for a turn that did not complete, why.
public enum HistoryLines {
    public static func line(_ text: String, style: TextStyle, at time: Double) -> OutputLine {
        OutputLine(text: text, runs: text.isEmpty ? [] : [StyleRun(start: 0, count: text.utf8.count, style: style)], timestamp: time)
    }

    /// A Claude transcript line kept in the history (a tool call, a turn's footer: see
    /// ClaudeTranscript) is drawn in its role, as live; other response lines are dim.
    static func style(ofResponseLine part: Substring, theme: Theme) -> TextStyle? {
        if part.hasPrefix(ClaudeTranscript.toolMark + " ") { return theme.textStyle(.outputTool) }
        if part.hasPrefix(ClaudeTranscript.footerMark + " ") { return theme.textStyle(.outputFooter) }
        return nil
    }

    public static func lines(for turn: Turn, theme: Theme) -> [OutputLine] {
        var out: [OutputLine] = []
        let promptStyle = theme.textStyle(.outputPrompt)
        // A prompt not typed in a TUI says where it came from: `❯ [cli] text`.
        let origin = turn.origin.flatMap { $0 == .tui ? nil : "[\($0.rawValue)] " } ?? ""
        for (i, part) in turn.prompt.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            out.append(line((i == 0 ? "❯ " + origin : "  ") + part, style: promptStyle, at: turn.sentAt))
        }
        var response = Substring(turn.response)
        while response.last == "\n" { response = response.dropLast() }
        let dim = TextStyle(dim: true)
        let at = turn.firstByteAt ?? turn.sentAt
        if !response.isEmpty {
            for part in response.split(separator: "\n", omittingEmptySubsequences: false) {
                out.append(line(String(part), style: style(ofResponseLine: part, theme: theme) ?? dim, at: at))
            }
        }
        if turn.status != .completed {
            let why = turn.error.map { ": \($0)" } ?? ""
            out.append(line("[\(turn.status.rawValue)\(why)]", style: TextStyle(foreground: .ansi(1), dim: true), at: turn.doneAt ?? at))
        }
        return out
    }
}
