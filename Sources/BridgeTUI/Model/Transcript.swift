// Transcript: what the TUI keeps per instance about a Claude stream-json session so a turn reads
// like a transcript: its tool calls (one scrollback line each, drawn with the outcome, duration
// and the result's line count, expandable in place), the light structure of the assistant's text
// (headings, list items, fenced code: a theme role per line), the approvals waiting, and the
// session's cost. The scrollback keeps plain text (searchable, savable); `displayLine` composes
// what the output pane draws. Everything from a frame is sanitized (ClaudeTranscript) and bounded.

import BridgeCore

/// How a line of assistant text is drawn.
public enum TranscriptRole: Hashable, Sendable {
    case heading, listItem, code
}

/// One tool call of a Claude turn.
public struct ToolCall: Hashable, Sendable {
    public var toolID: String
    public var turnID: String
    /// Scrollback line of its `⏺ name summary` line.
    public var line: Int
    public var startedAt: Double
    public var finished = false
    public var isError = false
    public var seconds: Double?
    public var resultLines = 0
    /// The result's first lines, sanitized (shown when expanded).
    public var excerpt: [String] = []
    public var expanded = false
    /// Its `tool_use` was seen (else no duration can be known).
    public var useSeen = true
}

/// A permission request waiting for the user.
public struct ApprovalRequest: Hashable, Sendable {
    public var turnID: String
    public var requestID: String
    public var tool: String
    public var summary: String
    /// The tool input as JSON text (raw: sanitized where drawn).
    public var input: String
    public var at: Double
}

public struct TranscriptState: Hashable, Sendable {
    /// The instance speaks Claude's stream-json mode (a Claude frame was seen).
    public var isClaude = false
    /// Tool calls, oldest first; bounded (`maxTools`), ascending by line.
    public var tools: [ToolCall] = []
    /// Roles of assistant text lines by scrollback line number (only lines that have one).
    public var roles: [Int: TranscriptRole] = [:]
    /// Lines before this one were classified.
    public var classifiedThrough = 0
    /// Inside a fenced code block.
    public var inFence = false
    /// Approvals waiting, oldest first; bounded (`maxApprovals`).
    public var approvals: [ApprovalRequest] = []
    /// What the Claude session has cost so far (its last turn result's session total).
    public var costUSD: Double?
    /// A turn ended (or an approval came) while the instance was not in view, not yet looked at.
    public var needsAttention = false

    public static let maxTools = 500
    public static let maxApprovals = 16
    public static let maxRoles = 8192
    public init() {}

    /// The tool call drawn at scrollback line `n`.
    public func tool(at n: Int) -> Int? {
        var lo = 0, hi = tools.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tools[mid].line < n { lo = mid + 1 } else { hi = mid }
        }
        return lo < tools.count && tools[lo].line == n ? lo : nil
    }

    /// The tool call nearest line `n`: the last at or above it, else the first below it.
    public func toolNearest(_ n: Int) -> Int? {
        guard !tools.isEmpty else { return nil }
        return tools.lastIndex { $0.line <= n } ?? 0
    }

    /// The role of a line of assistant text; `inFence` is updated for fence lines.
    static func classify(_ text: String, inFence: inout Bool) -> TranscriptRole? {
        let trimmed = text.drop { $0 == " " }
        if trimmed.hasPrefix("```") || trimmed.hasPrefix("~~~") {
            inFence.toggle()
            return .code
        }
        if inFence { return .code }
        if text.hasPrefix("#") {
            let hashes = text.prefix { $0 == "#" }.count
            if hashes <= 6, text.dropFirst(hashes).first == " " { return .heading }
        }
        if let first = trimmed.first {
            if "-*+•".contains(first), trimmed.dropFirst().first == " " { return .listItem }
            let digits = trimmed.prefix { $0.isASCII && $0.isNumber }
            if !digits.isEmpty, digits.count <= 3 {
                let rest = trimmed.dropFirst(digits.count)
                if let mark = rest.first, mark == "." || mark == ")", rest.dropFirst().first == " " { return .listItem }
            }
        }
        return nil
    }
}

extension InstanceState {
    /// Gives newly finished lines of assistant text their role (Claude instances only). Tool,
    /// footer and prompt lines are inserted by the reducer and are skipped.
    mutating func classifyTranscript() {
        guard transcript.isClaude else { return }
        let end = endLine - (scrollback.lastIsOpen ? 1 : 0)
        var n = max(transcript.classifiedThrough, firstLine)
        while n < end {
            if transcript.tool(at: n) == nil, let line = scrollback.line(at: n) {
                if let role = TranscriptState.classify(line.text, inFence: &transcript.inFence) { transcript.roles[n] = role }
            }
            n += 1
        }
        transcript.classifiedThrough = max(transcript.classifiedThrough, end)
        if transcript.roles.count > TranscriptState.maxRoles {
            let floor = firstLine
            transcript.roles = transcript.roles.filter { $0.key >= floor }
            if transcript.roles.count > TranscriptState.maxRoles {
                let keep = transcript.roles.keys.sorted().suffix(TranscriptState.maxRoles / 2)
                transcript.roles = transcript.roles.filter { keep.contains($0.key) }
            }
        }
    }

    /// Lines put into the scrollback by the TUI (prompt, tool, footer) were inserted in front of the
    /// open line: nothing before the insert point needs classifying again, the open line moved.
    mutating func noteInserted(at first: Int, count: Int) {
        guard count > 0 else { return }
        // The open line (if any) moved below the insert: shift roles at or after `first`.
        let moved = transcript.roles.filter { $0.key >= first }
        for key in moved.keys { transcript.roles[key] = nil }
        for (key, role) in moved { transcript.roles[key + count] = role }
        for i in transcript.tools.indices where transcript.tools[i].line >= first { transcript.tools[i].line += count }
        if transcript.classifiedThrough >= first { transcript.classifiedThrough += count }
    }

    /// What the output pane draws for line `n`: the scrollback line, or for a Claude instance a
    /// tool call with its outcome (and its result's lines when expanded, after newlines) or a line
    /// of assistant text in its role.
    public func displayLine(at n: Int, theme: Theme) -> OutputLine? {
        guard let line = scrollback.line(at: n) else { return nil }
        guard transcript.isClaude else { return line }
        if let index = transcript.tool(at: n) {
            return TranscriptLines.tool(transcript.tools[index], head: line, theme: theme)
        }
        if let role = transcript.roles[n], line.runs.isEmpty {
            let themeRole: ThemeRole = switch role {
            case .heading: .outputHeading
            case .listItem: .outputList
            case .code: .outputCode
            }
            return HistoryLines.line(line.text, style: theme.textStyle(themeRole), at: line.timestamp)
        }
        return line
    }
}

/// The composed lines of a transcript (pure).
public enum TranscriptLines {
    static func run(_ text: String, from start: Int, _ style: TextStyle) -> StyleRun {
        StyleRun(start: start, count: text.utf8.count, style: style)
    }

    public static func tool(_ call: ToolCall, head: OutputLine, theme: Theme) -> OutputLine {
        var text = head.text
        var runs: [StyleRun] = []
        // `⏺ Name` in the tool role, the summary as it is.
        let nameEnd = head.text.range(of: "  ").map { head.text.utf8.distance(from: head.text.startIndex, to: $0.lowerBound) }
            ?? head.text.utf8.count
        runs.append(StyleRun(start: 0, count: nameEnd, style: theme.textStyle(.outputTool)))
        let outcome: String
        let role: ThemeRole
        if call.finished {
            outcome = "  " + ClaudeTranscript.toolOutcome(isError: call.isError, seconds: call.seconds, lines: call.resultLines)
            role = call.isError ? .stateError : .stateOk
        } else {
            outcome = "  …"
            role = .stateUnknown
        }
        runs.append(run(outcome, from: text.utf8.count, theme.textStyle(role)))
        text += outcome
        if call.expanded && call.finished {
            let dim = theme.textStyle(.outputToolResult)
            let body = call.excerpt.isEmpty ? ["(no output)"] : call.excerpt
            for part in body {
                let piece = "\n    " + part
                runs.append(run(piece, from: text.utf8.count, dim))
                text += piece
            }
        }
        return OutputLine(text: text, runs: runs, timestamp: head.timestamp)
    }

    /// A footer line: `✻ 4.2 s · ...` in the footer role.
    public static func footer(_ result: TurnResultInfo, theme: Theme, at time: Double) -> OutputLine {
        HistoryLines.line(ClaudeTranscript.footer(result), style: theme.textStyle(result.isError ? .stateError : .outputFooter), at: time)
    }
}
