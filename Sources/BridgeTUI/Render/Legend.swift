// Legend: what every badge and glyph on the screen means. One table, shown at the end of the
// help overlay and in docs/keybindings.md; the glyphs come from the views that draw them.

public enum Legend {
    public struct Entry: Hashable, Sendable {
        public var symbol: String
        public var where_: String
        public var meaning: String
    }

    public static var entries: [Entry] {
        func glyph(_ level: HealthLevel) -> String { StateGlyph.of(level).glyph }
        return [
            Entry(symbol: "▌", where_: "list", meaning: "the selected instance, while the list has focus (dimmed: keys go elsewhere)"),
            Entry(symbol: glyph(.healthy), where_: "list, title", meaning: "healthy: an agent reads the in-FIFO"),
            Entry(symbol: glyph(.degraded), where_: "list, title", meaning: "degraded: a problem that does not stop delivery, e.g. no agent reading yet"),
            Entry(symbol: glyph(.unhealthy), where_: "list, title", meaning: "unhealthy, or broken (pipes unsafe: nothing is written)"),
            Entry(symbol: glyph(.unknown), where_: "list, title", meaning: "unknown (not checked yet), or gone (its pipes disappeared)"),
            Entry(symbol: "+N", where_: "list", meaning: "N new lines arrived since you last looked at the instance"),
            Entry(symbol: "gone", where_: "list, title", meaning: "its pipes vanished: dimmed, kept with its output for tui.gone_grace_seconds, then removed"),
            Entry(symbol: "qN", where_: "list", meaning: "N prompts queued in the outbox, sent when its agent reads again"),
            Entry(symbol: "following", where_: "title", meaning: "the pane shows the newest output as it arrives"),
            Entry(symbol: "paused, N new lines", where_: "title", meaning: "the pane holds still; N lines arrived since (at most what is kept; \", M dropped\": trimmed by the line limit since)"),
            Entry(symbol: "── N lines dropped while paused ──", where_: "output", meaning: "above it, N lines were trimmed by the line limit while the pane was paused"),
            Entry(symbol: "filter: …, nowrap +N", where_: "title", meaning: "a filter is on; wrap is off, scrolled N columns right"),
            Entry(symbol: "/query N of M", where_: "prompt", meaning: "the search in force, the current match and how many (re/: a regular expression)"),
            Entry(symbol: "sending…", where_: "prompt", meaning: "a prompt is on its way to the agent"),
            Entry(symbol: "N queued", where_: "prompt", meaning: "prompts waiting in the outbox"),
            Entry(symbol: "N lines", where_: "prompt", meaning: "lines in the draft (Alt-Enter adds one)"),
            Entry(symbol: "ʰ", where_: "turn history", meaning: "the turn was restored from the history file (an earlier run)"),
        ]
    }
}
