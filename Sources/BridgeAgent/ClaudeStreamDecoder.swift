// ClaudeStreamDecoder: one line of Claude Code's `--output-format stream-json` output decoded into
// what the agent acts on. Pure (no I/O, no state), so it is fuzzed (ccb-fuzz target `claude`) and
// unit-tested on its own. Every string it returns is already bounded (ClaudeFrameLimits); a line it
// cannot use (not JSON, an unknown `type`, a known type without its fields) comes back as
// `.unknown` or `.malformed` with a bounded excerpt, to be relayed as text, never dropped.
// The shapes are those the official Agent SDKs parse; docs/protocol.md cites the sources.

import Foundation
import BridgeCore

/// Claude's `result` event (the end of a turn), with its cost as Claude reports it.
public struct ClaudeResult: Equatable, Sendable {
    public var subtype: String
    public var isError: Bool
    public var durationMs: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var cacheReadTokens: Int
    public var cacheWriteTokens: Int
    /// `total_cost_usd`: cumulative for the life of the Claude process (see docs/protocol.md).
    public var totalCostUSD: Double
    /// The `errors` of an error subtype, joined, bounded.
    public var errors: String
}

/// A `can_use_tool` control request.
public struct ClaudePermissionRequest: Equatable, Sendable {
    public var requestID: String
    public var tool: String
    public var summary: String
    /// The input as compact JSON, bounded (for the host).
    public var inputExcerpt: String
    /// The whole input as JSON text, echoed back as `updatedInput` when allowed (a line's size
    /// at most: ClaudeLineSplitter bounds it).
    public var inputJSON: String
}

public enum ClaudeEvent: Equatable, Sendable {
    /// `system`/`init`: `resumed` is false here; the engine knows whether it resumed.
    case initialized(ClaudeSessionInfo)
    /// Another `system` subtype (`status`, `hook_started`, ...): relayed as a short notice.
    case system(subtype: String)
    /// An assistant text block (possibly empty: the engine relays nothing for it).
    case text(String)
    /// A thinking block: its size in bytes (the text itself is not relayed).
    case thinking(bytes: Int)
    case toolUse(ToolUseInfo)
    case toolResult(ToolResultInfo)
    /// A `user` event without a tool result (a replayed prompt): nothing to relay.
    case userEcho
    case result(ClaudeResult)
    case permissionRequest(ClaudePermissionRequest)
    /// A control request the agent does not serve (it answers with an error).
    case otherControlRequest(requestID: String, subtype: String)
    /// Claude's answer to one of the agent's control requests (the interrupt).
    case controlResponse(requestID: String, error: String?)
    case rateLimit(RateLimitInfo)
    /// A JSON object with a `type` the agent does not know; `line` is a bounded excerpt.
    case unknown(type: String, line: String)
    /// Not a JSON object, or a known type without its fields.
    case malformed(reason: String, line: String)
}

public enum ClaudeStreamDecoder {
    /// The events of one line (a blank line gives none; any other line at least one).
    public static func decode(_ line: [UInt8]) -> [ClaudeEvent] {
        var trimmed = line[...]
        while let last = trimmed.last, last == 0x20 || last == 0x0D || last == 0x09 { trimmed = trimmed.dropLast() }
        while let first = trimmed.first, first == 0x20 || first == 0x09 { trimmed = trimmed.dropFirst() }
        if trimmed.isEmpty { return [] }
        let parsed = try? JSONSerialization.jsonObject(with: Data(trimmed), options: [])
        guard let object = parsed as? [String: Any] else {
            return [.malformed(reason: "not a JSON object", line: excerpt(trimmed))]
        }
        guard let type = object["type"] as? String else {
            return [.malformed(reason: "no type", line: excerpt(trimmed))]
        }
        let events: [ClaudeEvent]?
        switch type {
        case "system": events = system(object)
        case "assistant": events = assistant(object)
        case "user": events = user(object)
        case "result": events = result(object).map { [.result($0)] }
        case "control_request": events = controlRequest(object)
        case "control_response": events = controlResponse(object)
        case "rate_limit_event": events = rateLimit(object)
        default: return [.unknown(type: short(type), line: excerpt(trimmed))]
        }
        return events ?? [.malformed(reason: "a '\(short(type))' event without its fields", line: excerpt(trimmed))]
    }

    // MARK: - Event types

    private static func system(_ o: [String: Any]) -> [ClaudeEvent]? {
        let subtype = o["subtype"] as? String ?? ""
        guard subtype == "init" else { return [.system(subtype: short(subtype))] }
        guard let session = o["session_id"] as? String else { return nil }
        let tools = (o["tools"] as? [Any])?.compactMap { $0 as? String } ?? []
        return [.initialized(ClaudeSessionInfo(
            sessionID: short(session), model: short(o["model"] as? String ?? ""),
            cwd: ClaudeText.bounded(o["cwd"] as? String ?? "", ClaudeFrameLimits.excerpt),
            tools: ClaudeText.bounded(tools.joined(separator: ","), ClaudeFrameLimits.toolList),
            claudeVersion: short(o["claude_code_version"] as? String ?? ""), resumed: false))]
    }

    private static func assistant(_ o: [String: Any]) -> [ClaudeEvent]? {
        guard let message = o["message"] as? [String: Any], let content = message["content"] else { return nil }
        if let text = content as? String { return [.text(text)] }
        guard let blocks = content as? [Any] else { return nil }
        var events: [ClaudeEvent] = []
        for item in blocks {
            guard let block = item as? [String: Any] else {
                events.append(.unknown(type: "assistant block", line: ClaudeText.bounded(ClaudeText.json(item), ClaudeFrameLimits.excerpt)))
                continue
            }
            switch block["type"] as? String {
            case "text" where block["text"] is String:
                events.append(.text(block["text"] as? String ?? ""))
            case "thinking":
                events.append(.thinking(bytes: (block["thinking"] as? String)?.utf8.count ?? 0))
            case "redacted_thinking":
                events.append(.thinking(bytes: 0))
            case "tool_use", "server_tool_use":
                let name = block["name"] as? String ?? ""
                events.append(.toolUse(ToolUseInfo(
                    toolID: short(block["id"] as? String ?? ""), name: short(name),
                    summary: ClaudeText.toolSummary(name: name, input: block["input"]))))
            case let other:
                events.append(.unknown(type: "assistant block " + short(other ?? "?"),
                                       line: ClaudeText.bounded(ClaudeText.json(block), ClaudeFrameLimits.excerpt)))
            }
        }
        // No blocks at all: relayed whole as malformed rather than dropped.
        return events.isEmpty ? nil : events
    }

    private static func user(_ o: [String: Any]) -> [ClaudeEvent]? {
        guard let message = o["message"] as? [String: Any] else { return nil }
        guard let blocks = message["content"] as? [Any] else { return [.userEcho] }
        var events: [ClaudeEvent] = []
        for case let block as [String: Any] in blocks where block["type"] as? String == "tool_result" {
            let text = resultText(block["content"])
            let bytes = text.utf8.count
            var lines = 0
            if bytes > 0 {
                lines = text.utf8.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } + (text.utf8.last == 0x0A ? 0 : 1)
            }
            events.append(.toolResult(ToolResultInfo(
                toolID: short(block["tool_use_id"] as? String ?? ""), isError: block["is_error"] as? Bool ?? false,
                bytes: bytes, lines: lines, excerpt: ClaudeText.bounded(text, ClaudeFrameLimits.excerpt))))
        }
        return events.isEmpty ? [.userEcho] : events
    }

    /// A tool result's `content`: a string, or blocks of text (and images, named).
    private static func resultText(_ content: Any?) -> String {
        if let text = content as? String { return text }
        guard let blocks = content as? [Any] else { return "" }
        var parts: [String] = []
        for case let block as [String: Any] in blocks {
            if let text = block["text"] as? String { parts.append(text) }
            else { parts.append("[" + short(block["type"] as? String ?? "block") + "]") }
        }
        return parts.joined(separator: "\n")
    }

    private static func result(_ o: [String: Any]) -> ClaudeResult? {
        guard let subtype = o["subtype"] as? String else { return nil }
        let usage = o["usage"] as? [String: Any] ?? [:]
        let errors = (o["errors"] as? [Any])?.map { ($0 as? String) ?? ClaudeText.json($0) } ?? []
        return ClaudeResult(
            subtype: short(subtype), isError: o["is_error"] as? Bool ?? (subtype != "success"),
            durationMs: int(o["duration_ms"]), inputTokens: int(usage["input_tokens"]),
            outputTokens: int(usage["output_tokens"]), cacheReadTokens: int(usage["cache_read_input_tokens"]),
            cacheWriteTokens: int(usage["cache_creation_input_tokens"]), totalCostUSD: double(o["total_cost_usd"]),
            errors: ClaudeText.bounded(errors.joined(separator: "; "), ClaudeFrameLimits.excerpt))
    }

    private static func controlRequest(_ o: [String: Any]) -> [ClaudeEvent]? {
        guard let id = o["request_id"] as? String, let request = o["request"] as? [String: Any],
              let subtype = request["subtype"] as? String else { return nil }
        guard subtype == "can_use_tool" else {
            return [.otherControlRequest(requestID: id, subtype: short(subtype))]
        }
        guard let tool = request["tool_name"] as? String else { return nil }
        let input = request["input"] ?? [String: Any]()
        let json = ClaudeText.json(input)
        return [.permissionRequest(ClaudePermissionRequest(
            requestID: id, tool: short(tool), summary: ClaudeText.toolSummary(name: tool, input: input),
            inputExcerpt: ClaudeText.bounded(json, ClaudeFrameLimits.excerpt), inputJSON: json))]
    }

    private static func controlResponse(_ o: [String: Any]) -> [ClaudeEvent]? {
        guard let response = o["response"] as? [String: Any] else { return nil }
        let id = short(response["request_id"] as? String ?? "")
        if response["subtype"] as? String == "error" {
            return [.controlResponse(requestID: id, error: ClaudeText.bounded(response["error"] as? String ?? "error", ClaudeFrameLimits.excerpt))]
        }
        return [.controlResponse(requestID: id, error: nil)]
    }

    private static func rateLimit(_ o: [String: Any]) -> [ClaudeEvent]? {
        guard let info = o["rate_limit_info"] as? [String: Any] else { return nil }
        var resets: Double? = nil
        if let value = info["resetsAt"], !(value is String) { resets = double(value) }
        return [.rateLimit(RateLimitInfo(status: short(info["status"] as? String ?? ""),
                                         kind: short(info["rateLimitType"] as? String ?? ""), resetsAt: resets))]
    }

    // MARK: - Values

    static func short(_ text: String) -> String { ClaudeText.bounded(text, ClaudeFrameLimits.shortField) }

    static func excerpt(_ bytes: ArraySlice<UInt8>) -> String {
        ClaudeText.bounded(String(decoding: bytes.prefix(ClaudeFrameLimits.excerpt + 8), as: UTF8.self), ClaudeFrameLimits.excerpt)
    }

    /// A JSON number as Int (0 when missing, not a number, or out of range).
    static func int(_ value: Any?) -> Int {
        let d = double(value)
        return d >= -9.0e15 && d <= 9.0e15 ? Int(d) : 0
    }

    static func double(_ value: Any?) -> Double {
        guard let number = value as? NSNumber else { return 0 }
        let d = number.doubleValue
        return d.isFinite ? d : 0
    }
}
