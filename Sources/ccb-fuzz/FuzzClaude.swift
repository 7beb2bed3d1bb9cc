// FuzzClaude: the `claude` fuzz target. Bytes as a Claude Code child would write them on its
// stdout (stream-json): ClaudeLineSplitter, fed whole and split at a point chosen by the first
// byte, must give the same lines, each within its bound; ClaudeStreamDecoder must give at least
// one event for every line that is not blank (nothing is dropped), every string in an event
// within its ClaudeFrameLimits bound, and every frame the agent would send for an event must
// survive AgentMessage's encode/decode unchanged.

import BridgeAgent
import BridgeCore

enum FuzzClaude {
    static let maxLineBytes = 8192

    static func run(_ data: UnsafeRawBufferPointer) {
        let bytes = Array(data)
        let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
        var whole = ClaudeLineSplitter(maxLineBytes: maxLineBytes)
        var parts = ClaudeLineSplitter(maxLineBytes: maxLineBytes)
        var lines = whole.feed(bytes)
        if let last = whole.flush() { lines.append(last) }
        var split = parts.feed(Array(bytes[..<cut])) + parts.feed(Array(bytes[cut...]))
        if let last = parts.flush() { split.append(last) }
        guard lines == split else { fatalError("claude: split feed at \(cut) gives other lines") }
        for line in lines {
            switch line {
            case .line(let line):
                guard line.count <= maxLineBytes else { fatalError("claude: a line of \(line.count) bytes passed the bound") }
                check(line)
            case .overlong(let head, let count):
                guard count > maxLineBytes, head.count <= ClaudeLineSplitter.headBytes else {
                    fatalError("claude: overlong line of \(count) bytes with a head of \(head.count)")
                }
            }
        }
    }

    static func check(_ line: [UInt8]) {
        let events = ClaudeStreamDecoder.decode(line)
        let blank = line.allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard blank || !events.isEmpty else { fatalError("claude: a line gave no event (dropped)") }
        for event in events {
            switch event {
            case .initialized(let s):
                bound(s.sessionID, ClaudeFrameLimits.shortField); bound(s.model, ClaudeFrameLimits.shortField)
                bound(s.cwd, ClaudeFrameLimits.excerpt); bound(s.tools, ClaudeFrameLimits.toolList)
                bound(s.claudeVersion, ClaudeFrameLimits.shortField)
                roundTrip(.session(s))
            case .system(let subtype): bound(subtype, ClaudeFrameLimits.shortField)
            case .text, .thinking, .userEcho: break
            case .toolUse(let t):
                bound(t.toolID, ClaudeFrameLimits.shortField); bound(t.name, ClaudeFrameLimits.shortField)
                bound(t.summary, ClaudeFrameLimits.summary)
                roundTrip(.toolUse(id: "t", t))
            case .toolResult(let r):
                bound(r.toolID, ClaudeFrameLimits.shortField); bound(r.excerpt, ClaudeFrameLimits.excerpt)
                guard r.bytes >= r.excerpt.utf8.count || r.excerpt.hasSuffix("…"), r.lines >= 0 else { fatalError("claude: tool result sizes") }
                roundTrip(.toolResult(id: "t", r))
            case .result(let r):
                bound(r.subtype, ClaudeFrameLimits.shortField); bound(r.errors, ClaudeFrameLimits.excerpt)
                guard r.totalCostUSD.isFinite else { fatalError("claude: cost not finite") }
                roundTrip(.result(id: "t", TurnResultInfo(
                    subtype: r.subtype, isError: r.isError, durationMs: r.durationMs, inputTokens: r.inputTokens,
                    outputTokens: r.outputTokens, cacheReadTokens: r.cacheReadTokens, cacheWriteTokens: r.cacheWriteTokens,
                    costUSD: r.totalCostUSD, sessionCostUSD: r.totalCostUSD)))
            case .permissionRequest(let p):
                bound(p.tool, ClaudeFrameLimits.shortField); bound(p.summary, ClaudeFrameLimits.summary)
                bound(p.inputExcerpt, ClaudeFrameLimits.excerpt)
                roundTrip(.permission(id: "t", PermissionRequestInfo(
                    requestID: p.requestID, tool: p.tool, summary: p.summary, input: p.inputExcerpt)))
            case let .otherControlRequest(_, subtype): bound(subtype, ClaudeFrameLimits.shortField)
            case let .controlResponse(id, error):
                bound(id, ClaudeFrameLimits.shortField); bound(error ?? "", ClaudeFrameLimits.excerpt)
            case .rateLimit(let r):
                bound(r.status, ClaudeFrameLimits.shortField); bound(r.kind, ClaudeFrameLimits.shortField)
                roundTrip(.rateLimit(r))
            case let .unknown(type, text):
                bound(type, ClaudeFrameLimits.shortField + 32); bound(text, ClaudeFrameLimits.excerpt)
            case let .malformed(reason, text):
                bound(reason, ClaudeFrameLimits.shortField + 64); bound(text, ClaudeFrameLimits.excerpt)
            }
        }
    }

    static func bound(_ text: String, _ limit: Int) {
        guard text.utf8.count <= limit else { fatalError("claude: a field of \(text.utf8.count) bytes over its bound \(limit)") }
    }

    static func roundTrip(_ frame: ClaudeFrame) {
        let message = AgentMessage.claude(frame)
        let again = AgentMessage.decode(line: Array(message.encode().utf8))
        guard case .success(message) = again else {
            fatalError("claude: \(message) does not survive encode/decode: \(again)")
        }
    }
}
