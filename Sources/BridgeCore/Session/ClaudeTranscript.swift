// ClaudeTranscript: the text of a Claude stream-json turn's transcript lines, one place for the
// live TUI and the history file: a tool call (`⏺ Bash  npm test  ✔ 2.1 s  ⎿ 12 lines`) and a
// turn's footer (`✻ 4.2 s · 1.2k in · 340 out · $0.0123`). The history file keeps a transcript as
// text, so a restored turn shows the same lines. Everything from a frame is sanitized here
// (control characters become `?`, as notice text; newlines folded) and bounded.

public enum ClaudeTranscript {
    /// The glyph that starts a tool line, and the one that starts a footer.
    public static let toolMark = "⏺"
    public static let footerMark = "✻"
    /// Longest excerpt line and most excerpt lines shown when a tool result is expanded.
    public static let maxExcerptLines = 40
    public static let maxLineWidth = 240

    /// One line of untrusted text: controls become `?`, tabs a space, at most `limit` characters.
    public static func oneLine(_ raw: String, limit: Int = 200) -> String {
        let flat = raw.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\t", with: " ")
        let clean = InstanceScanner.displayName(flat)
        return clean.count <= limit ? clean : String(clean.prefix(max(0, limit - 1))) + "…"
    }

    /// Untrusted multi-line text as at most `maxLines` sanitized lines (tabs as spaces); a last
    /// line says how many more there were.
    public static func lines(_ raw: String, maxLines: Int = maxExcerptLines, width: Int = maxLineWidth) -> [String] {
        var parts = raw.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while parts.last == "" { parts.removeLast() }
        var out = parts.prefix(maxLines).map { part -> String in
            let untabbed = part.replacingOccurrences(of: "\t", with: "    ").replacingOccurrences(of: "\r", with: "")
            return oneLine(untabbed, limit: width)
        }
        if parts.count > maxLines { out.append("… \(parts.count - maxLines) more line\(parts.count - maxLines == 1 ? "" : "s")") }
        return out
    }

    /// `⏺ Bash  npm test`: the start of a tool line, as it reads while the tool runs.
    public static func toolHead(name: String, summary: String) -> String {
        let tool = oneLine(name, limit: 40)
        let what = oneLine(summary, limit: 160)
        return what.isEmpty ? "\(toolMark) \(tool)" : "\(toolMark) \(tool)  \(what)"
    }

    /// `✔ 2.1 s  ⎿ 12 lines`: how a tool call ended; nil duration when the use was not seen.
    public static func toolOutcome(isError: Bool, seconds: Double?, lines: Int) -> String {
        var text = isError ? "✘" : "✔"
        if let seconds { text += " " + duration(seconds) }
        text += "  ⎿ \(lines) line\(lines == 1 ? "" : "s")"
        return text
    }

    /// The whole tool line once its result came back.
    public static func toolLine(name: String, summary: String, isError: Bool, seconds: Double?, lines: Int) -> String {
        toolHead(name: name, summary: summary) + "  " + toolOutcome(isError: isError, seconds: seconds, lines: lines)
    }

    /// `✻ 4.2 s · 1.2k in · 340 out · $0.0123` (and the error subtype when the turn failed).
    public static func footer(_ r: TurnResultInfo) -> String {
        var parts = [duration(Double(r.durationMs) / 1000), tokens(r.inputTokens + r.cacheReadTokens + r.cacheWriteTokens) + " in",
                     tokens(r.outputTokens) + " out", cost(r.costUSD)]
        if r.isError { parts.append("error: " + oneLine(r.subtype, limit: 60)) }
        return "\(footerMark) " + parts.joined(separator: " · ")
    }

    /// "0.4 s", "2.1 s", "42 s", "3 min".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 10 { let tenths = Int((seconds * 10).rounded()); return "\(tenths / 10).\(tenths % 10) s" }
        if seconds < 120 { return "\(Int(seconds.rounded())) s" }
        return "\(Int((seconds / 60).rounded())) min"
    }

    /// "340", "1.2k", "12k", "1.5M".
    public static func tokens(_ n: Int) -> String {
        if n < 1000 { return "\(max(0, n))" }
        if n < 10_000 { let h = (n + 50) / 100; return "\(h / 10).\(h % 10)k" }
        if n < 1_000_000 { return "\((n + 500) / 1000)k" }
        let h = (n + 50_000) / 100_000
        return "\(h / 10).\(h % 10)M"
    }

    /// "$0.0123", "$1.25": four decimals below a dollar, two above.
    public static func cost(_ usd: Double) -> String {
        guard usd.isFinite, usd >= 0 else { return "$?" }
        if usd < 1 {
            let units = Int((usd * 10_000).rounded())
            let frac = String(units)
            return "$0." + String(repeating: "0", count: max(0, 4 - frac.count)) + frac
        }
        let cents = Int((usd * 100).rounded())
        let frac = String(cents % 100)
        return "$\(cents / 100)." + (frac.count == 1 ? "0" : "") + frac
    }
}
