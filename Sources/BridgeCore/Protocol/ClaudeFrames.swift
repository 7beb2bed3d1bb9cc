// ClaudeFrames: the `ccb-jsonl/1` frames an agent in Claude stream-json mode adds to the
// protocol (agent -> host): session start, tool use, tool result, turn result, permission
// request, rate-limit notice and the stall watchdog; and the host's answer to a permission
// request (host -> agent). Assistant text travels as ordinary `chunk` frames, so a host that
// knows none of these still shows the reply; it shows these frames as text lines.
//
// Every string here comes from Claude (or from whatever runs as `claude`) through the agent:
// the agent bounds each field (see the limits below); a host sanitizes before showing.

/// Limits the agent applies before encoding (a host must not rely on them for safety).
public enum ClaudeFrameLimits {
    /// Short strings: names, ids, model, subtypes.
    public static let shortField = 256
    /// A tool input's one-line summary.
    public static let summary = 512
    /// A tool result's or a permission input's excerpt.
    public static let excerpt = 4096
    /// The comma-joined tool list of a session frame.
    public static let toolList = 4096
}

/// `{"type":"session",...}`: Claude started (or was restarted with `--resume`).
public struct ClaudeSessionInfo: Equatable, Sendable, Codable {
    public var sessionID: String
    public var model: String
    public var cwd: String
    /// Tool names, comma-joined.
    public var tools: String
    public var claudeVersion: String
    /// True when this session continues an earlier one after a restart (`--resume`).
    public var resumed: Bool

    public init(sessionID: String, model: String, cwd: String, tools: String, claudeVersion: String, resumed: Bool) {
        self.sessionID = sessionID; self.model = model; self.cwd = cwd
        self.tools = tools; self.claudeVersion = claudeVersion; self.resumed = resumed
    }
}

/// `{"id","type":"tool_use",...}`: Claude called a tool during the turn `id`.
public struct ToolUseInfo: Equatable, Sendable, Codable {
    /// Claude's tool-use id (`toolu_…`), which the matching result names.
    public var toolID: String
    public var name: String
    /// A short, one-line form of the input (a command, a path, a pattern).
    public var summary: String

    public init(toolID: String, name: String, summary: String) {
        self.toolID = toolID; self.name = name; self.summary = summary
    }
}

/// `{"id","type":"tool_result",...}`: a tool's result came back.
public struct ToolResultInfo: Equatable, Sendable, Codable {
    public var toolID: String
    public var isError: Bool
    /// Size of the whole result, in bytes of UTF-8 and in lines.
    public var bytes: Int
    public var lines: Int
    /// The first part of the result, at most `ClaudeFrameLimits.excerpt` bytes.
    public var excerpt: String

    public init(toolID: String, isError: Bool, bytes: Int, lines: Int, excerpt: String) {
        self.toolID = toolID; self.isError = isError; self.bytes = bytes; self.lines = lines; self.excerpt = excerpt
    }
}

/// `{"id","type":"result",...}`: Claude's `result` event, the exact end of turn `id`. The agent
/// sends the turn's `done` right after it.
public struct TurnResultInfo: Equatable, Sendable, Codable {
    /// Claude's subtype: `success`, `error_max_turns`, `error_during_execution`, ...
    public var subtype: String
    public var isError: Bool
    public var durationMs: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadTokens: Int
    public var cacheWriteTokens: Int
    /// What this turn cost, in US dollars.
    public var costUSD: Double
    /// What the session has cost so far (this Claude session, across restarts with --resume).
    public var sessionCostUSD: Double

    public init(subtype: String, isError: Bool, durationMs: Int, inputTokens: Int, outputTokens: Int,
                cacheReadTokens: Int, cacheWriteTokens: Int, costUSD: Double, sessionCostUSD: Double) {
        self.subtype = subtype; self.isError = isError; self.durationMs = durationMs
        self.inputTokens = inputTokens; self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens; self.cacheWriteTokens = cacheWriteTokens
        self.costUSD = costUSD; self.sessionCostUSD = sessionCostUSD
    }
}

/// `{"id","type":"permission",...}`: Claude asks whether it may use a tool (`can_use_tool`).
/// Nothing is allowed until the host answers with `HostMessage.permissionAnswer`.
public struct PermissionRequestInfo: Equatable, Sendable, Codable {
    /// The control request's id, echoed in the answer.
    public var requestID: String
    public var tool: String
    public var summary: String
    /// The tool input as JSON text, at most `ClaudeFrameLimits.excerpt` bytes.
    public var input: String

    public init(requestID: String, tool: String, summary: String, input: String) {
        self.requestID = requestID; self.tool = tool; self.summary = summary; self.input = input
    }
}

/// `{"type":"rate_limit",...}`: Claude's `rate_limit_event`.
public struct RateLimitInfo: Equatable, Sendable, Codable {
    public var status: String
    public var kind: String
    /// Seconds since 1970 when the limit resets, if Claude said.
    public var resetsAt: Double?

    public init(status: String, kind: String, resetsAt: Double?) {
        self.status = status; self.kind = kind; self.resetsAt = resetsAt
    }
}

/// How the host answers a permission request.
public enum PermissionBehavior: String, Equatable, Sendable, CaseIterable, Codable {
    /// Allow this one use.
    case allow
    /// Allow this tool for the rest of the session.
    case allowSession = "allow_session"
    case deny
}

/// The agent -> host frames of the Claude stream-json mode.
public enum ClaudeFrame: Equatable, Sendable, Codable {
    case session(ClaudeSessionInfo)
    case toolUse(id: String, ToolUseInfo)
    case toolResult(id: String, ToolResultInfo)
    case result(id: String, TurnResultInfo)
    case permission(id: String, PermissionRequestInfo)
    case rateLimit(RateLimitInfo)
    /// The watchdog: Claude has been silent for `silentSeconds` while turn `id` is open.
    case stalled(id: String, silentSeconds: Int)

    /// The `type` values these frames use.
    static let types: Set<String> = ["session", "tool_use", "tool_result", "result", "permission", "rate_limit", "stalled"]

    func encode(into w: inout JSONLineWriter) {
        switch self {
        case .session(let s):
            w.field("type", string: "session")
            w.field("session_id", string: s.sessionID)
            w.field("model", string: s.model)
            w.field("cwd", string: s.cwd)
            w.field("tools", string: s.tools)
            w.field("claude_version", string: s.claudeVersion)
            w.field("resumed", bool: s.resumed)
        case let .toolUse(id, t):
            w.field("id", string: id)
            w.field("type", string: "tool_use")
            w.field("tool_id", string: t.toolID)
            w.field("name", string: t.name)
            w.field("summary", string: t.summary)
        case let .toolResult(id, r):
            w.field("id", string: id)
            w.field("type", string: "tool_result")
            w.field("tool_id", string: r.toolID)
            w.field("is_error", bool: r.isError)
            w.field("bytes", int: r.bytes)
            w.field("lines", int: r.lines)
            w.field("excerpt", string: r.excerpt)
        case let .result(id, r):
            w.field("id", string: id)
            w.field("type", string: "result")
            w.field("subtype", string: r.subtype)
            w.field("is_error", bool: r.isError)
            w.field("duration_ms", int: r.durationMs)
            w.field("input_tokens", int: r.inputTokens)
            w.field("output_tokens", int: r.outputTokens)
            w.field("cache_read_tokens", int: r.cacheReadTokens)
            w.field("cache_write_tokens", int: r.cacheWriteTokens)
            w.field("cost_usd", double: r.costUSD)
            w.field("session_cost_usd", double: r.sessionCostUSD)
        case let .permission(id, p):
            w.field("id", string: id)
            w.field("type", string: "permission")
            w.field("request_id", string: p.requestID)
            w.field("tool", string: p.tool)
            w.field("summary", string: p.summary)
            w.field("input", string: p.input)
        case .rateLimit(let r):
            w.field("type", string: "rate_limit")
            w.field("status", string: r.status)
            w.field("kind", string: r.kind)
            if let at = r.resetsAt { w.field("resets_at", double: at) }
        case let .stalled(id, seconds):
            w.field("id", string: id)
            w.field("type", string: "stalled")
            w.field("silent_seconds", int: seconds)
        }
    }

    static func decode(type: String, _ o: FlatObject) throws -> ClaudeFrame {
        switch type {
        case "session":
            return .session(ClaudeSessionInfo(
                sessionID: try o.string("session_id"), model: try o.optionalString("model") ?? "",
                cwd: try o.optionalString("cwd") ?? "", tools: try o.optionalString("tools") ?? "",
                claudeVersion: try o.optionalString("claude_version") ?? "",
                resumed: try o.optionalBool("resumed") ?? false))
        case "tool_use":
            return .toolUse(id: try o.string("id"), ToolUseInfo(
                toolID: try o.string("tool_id"), name: try o.string("name"),
                summary: try o.optionalString("summary") ?? ""))
        case "tool_result":
            return .toolResult(id: try o.string("id"), ToolResultInfo(
                toolID: try o.string("tool_id"), isError: try o.optionalBool("is_error") ?? false,
                bytes: try o.optionalInt("bytes") ?? 0, lines: try o.optionalInt("lines") ?? 0,
                excerpt: try o.optionalString("excerpt") ?? ""))
        case "result":
            return .result(id: try o.string("id"), TurnResultInfo(
                subtype: try o.optionalString("subtype") ?? "success",
                isError: try o.optionalBool("is_error") ?? false,
                durationMs: try o.optionalInt("duration_ms") ?? 0,
                inputTokens: try o.optionalInt("input_tokens") ?? 0,
                outputTokens: try o.optionalInt("output_tokens") ?? 0,
                cacheReadTokens: try o.optionalInt("cache_read_tokens") ?? 0,
                cacheWriteTokens: try o.optionalInt("cache_write_tokens") ?? 0,
                costUSD: try o.optionalDouble("cost_usd") ?? 0,
                sessionCostUSD: try o.optionalDouble("session_cost_usd") ?? 0))
        case "permission":
            return .permission(id: try o.string("id"), PermissionRequestInfo(
                requestID: try o.string("request_id"), tool: try o.string("tool"),
                summary: try o.optionalString("summary") ?? "", input: try o.optionalString("input") ?? ""))
        case "rate_limit":
            return .rateLimit(RateLimitInfo(
                status: try o.optionalString("status") ?? "", kind: try o.optionalString("kind") ?? "",
                resetsAt: try o.optionalDouble("resets_at")))
        case "stalled":
            return .stalled(id: try o.string("id"), silentSeconds: try o.int("silent_seconds"))
        default:
            throw FramedDecodeError.unknownType(type)
        }
    }
}
