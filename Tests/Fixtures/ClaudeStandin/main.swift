// ccb-claude-standin: a STAND-IN for Claude Code, not Claude Code. It speaks the stream-json
// shapes the agent's Claude mode relies on (`claude --input-format stream-json --output-format
// stream-json --verbose --permission-prompt-tool stdio`), from a script chosen by the prompt's
// first word, so the tests and the demo run on machines with no Claude. It calls no model.
// Where each shape is documented (see docs/protocol.md, "Claude mode"):
//   - stream-json output, one JSON object per line, `system`/`init`, `assistant`, `user`
//     (tool_result), `result`: code.claude.com/docs/en/headless and the Agent SDKs' message types
//     (anthropics/claude-agent-sdk-python, src/claude_agent_sdk/types.py, _internal/message_parser.py);
//   - user messages on stdin and the control channel (`control_request` interrupt / can_use_tool,
//     `control_response`): the Python SDK's _internal/query.py and transport/subprocess_cli.py
//     (the input format is not documented elsewhere: anthropics/claude-code#24594);
//   - `total_cost_usd` cumulative over the process: anthropics/claude-code#83239 (this stand-in
//     starts at zero after --resume, as older versions did: EdanStarfire/claudecode_webui#1838;
//     with --standin-resumed-cost X it starts at X, as newer ones carry the session's total:
//     anthropics/claude-agent-sdk-typescript#469);
//   - `rate_limit_event`: the TypeScript SDK's SDKRateLimitEvent.
// The exact text, ids, timings, token counts and costs are invented.
//
// Scripts (the prompt's first word): tools, ask, ask2, slow, crash, silence S, garbage, huge N,
// ratelimit, thinking, system, error, session; anything else: a reply quoting the prompt.
// Environment: CCB_STANDIN_LOG=FILE (or the argument --standin-log FILE) appends argv and every
// stdin line (for tests);
// CCB_STANDIN_EXIT_AT_START=N exits with status N before reading anything.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import BridgeCore

let costPerTurn = 0.0125

final class Standin {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let askPermission: Bool
    let sessionID: String
    let resumed: Bool
    var logPath = ProcessInfo.processInfo.environment["CCB_STANDIN_LOG"]
    var inputBuffer: [UInt8] = []
    var queued: [[String: Any]] = []
    var eof = false
    var initialized = false
    var turns = 0
    var interrupted = false
    var requestCounter = 0
    /// What total_cost_usd starts from (the session's earlier cost, for a resumed session).
    var costBase = 0.0
    var toolCounter = 0

    init() {
        var resume: String?
        var ask = false
        for (i, arg) in arguments.enumerated() where i + 1 < arguments.count {
            if arg == "--resume" { resume = arguments[i + 1] }
            if arg == "--standin-log" { logPath = arguments[i + 1] }
            if arg == "--standin-resumed-cost" { costBase = Double(arguments[i + 1]) ?? 0 }
            if arg == "--permission-prompt-tool" && arguments[i + 1] == "stdio" { ask = true }
        }
        askPermission = ask
        resumed = resume != nil
        if !resumed { costBase = 0 }
        sessionID = resume ?? String(format: "standin-%08x-%04x", UInt32(truncatingIfNeeded: time(nil)), UInt32(getpid()) & 0xFFFF)
        log("argv " + CommandLine.arguments.joined(separator: " "))
    }

    // MARK: - I/O

    func log(_ line: String) {
        guard let logPath, let file = fopen(logPath, "a") else { return }
        fputs(line + "\n", file)
        fclose(file)
    }

    func writeRaw(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 { if errno == EINTR { continue }; exit(1) }
            offset += n
        }
        bytes.removeAll()
    }

    func emit(_ object: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
        writeRaw(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// The next stdin message, waiting at most `timeout` seconds (nil: none yet, or EOF).
    func nextMessage(timeout: Double) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = inputBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(inputBuffer[..<newline])
                inputBuffer.removeSubrange(...newline)
                log("stdin " + String(decoding: line, as: UTF8.self))
                if let object = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any] { return object }
                continue
            }
            if eof { return nil }
            let left = deadline.timeIntervalSinceNow
            if left < 0 { return nil }
            var p = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            let rc = poll(&p, 1, Int32(min(left, 1) * 1000))
            if rc <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if n <= 0 { eof = true } else { inputBuffer += buffer[..<n] }
        }
    }

    /// Handles control messages that arrive while a turn runs; keeps user messages for later.
    /// Returns the control_response for `waitingFor`, if that is what came.
    func take(_ message: [String: Any], waitingFor: String? = nil) -> [String: Any]? {
        switch message["type"] as? String {
        case "user":
            queued.append(message)
        case "control_request":
            let id = message["request_id"] as? String ?? ""
            let subtype = (message["request"] as? [String: Any])?["subtype"] as? String
            if subtype == "interrupt" {
                interrupted = true
                emit(["type": "control_response", "response": ["subtype": "success", "request_id": id]])
            } else {
                emit(["type": "control_response", "response": ["subtype": "error", "request_id": id, "error": "unsupported by the stand-in"]])
            }
        case "control_response":
            let response = message["response"] as? [String: Any] ?? [:]
            if let waitingFor, response["request_id"] as? String == waitingFor { return response }
        default:
            break
        }
        return nil
    }

    /// Sleeps `seconds` while serving control messages; true when interrupted.
    func pause(_ seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !interrupted, deadline.timeIntervalSinceNow > 0 {
            if let message = nextMessage(timeout: deadline.timeIntervalSinceNow) { _ = take(message) }
            if eof { break }
        }
        return interrupted
    }

    // MARK: - Shapes

    func assistant(_ blocks: [[String: Any]]) {
        emit(["type": "assistant", "session_id": sessionID, "parent_tool_use_id": NSNull(), "uuid": UUID().uuidString,
              "message": ["id": "msg_standin_\(turns)_\(toolCounter)", "type": "message", "role": "assistant",
                          "model": "claude-standin", "content": blocks, "stop_reason": NSNull(),
                          "usage": ["input_tokens": 12, "output_tokens": 7, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0]]])
    }

    /// A text reply, formatted by hand: JSONSerialization's dictionaries cost more than the
    /// agent's whole round trip (ccb-bench's roundtrip-claude row times this path).
    func text(_ text: String) {
        writeRaw(#"{"type":"assistant","message":{"id":"msg_standin_\#(turns)_\#(toolCounter)","type":"message","role":"assistant","#
                 + #""model":"claude-standin","content":[{"type":"text","text":\#(JSONString.quoted(text))}],"stop_reason":null,"#
                 + #""usage":{"input_tokens":12,"output_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}},"#
                 + #""parent_tool_use_id":null,"session_id":\#(JSONString.quoted(sessionID)),"uuid":"\#(UUID().uuidString)"}"# + "\n")
    }

    func toolResult(_ id: String, _ content: Any, isError: Bool = false) {
        emit(["type": "user", "session_id": sessionID, "parent_tool_use_id": NSNull(), "uuid": UUID().uuidString,
              "message": ["role": "user", "content": [["type": "tool_result", "tool_use_id": id, "content": content, "is_error": isError]]]])
    }

    /// A tool call: asks permission first (stdio mode); returns the deny message when denied.
    @discardableResult
    func tool(_ name: String, _ input: [String: Any], result: Any, ask: Bool = true) -> String? {
        toolCounter += 1
        let id = "toolu_standin_\(toolCounter)"
        assistant([["type": "tool_use", "id": id, "name": name, "input": input]])
        if ask && askPermission {
            requestCounter += 1
            let requestID = "standin-req-\(requestCounter)"
            emit(["type": "control_request", "request_id": requestID,
                  "request": ["subtype": "can_use_tool", "tool_name": name, "input": input, "permission_suggestions": [] as [Any]]])
            var answer: [String: Any]?
            while answer == nil, !interrupted, !eof {
                if let message = nextMessage(timeout: 1) { answer = take(message, waitingFor: requestID) }
            }
            let decision = answer?["response"] as? [String: Any] ?? [:]
            guard decision["behavior"] as? String == "allow" else {
                let why = decision["message"] as? String ?? "interrupted"
                toolResult(id, why, isError: true)
                return why
            }
            let updated = decision["updatedInput"] as? [String: Any] ?? [:]
            if !NSDictionary(dictionary: updated).isEqual(to: input) {
                toolResult(id, "the stand-in got an updatedInput that differs from the input", isError: true)
                return "changed input"
            }
        }
        toolResult(id, result)
        return nil
    }

    func finish(subtype: String = "success", isError: Bool = false, errors: [String] = [], resultText: String = "") {
        turns += 1
        let interruptedNow = interrupted
        var object: [String: Any] = [
            "type": "result", "subtype": interruptedNow ? "error_during_execution" : subtype,
            "is_error": interruptedNow || isError, "duration_ms": 1200 + turns, "duration_api_ms": 900,
            "num_turns": turns, "session_id": sessionID, "result": resultText, "stop_reason": "end_turn",
            "total_cost_usd": costBase + Double(turns) * costPerTurn,
            "usage": ["input_tokens": 100 * turns, "output_tokens": 40, "cache_creation_input_tokens": 5, "cache_read_input_tokens": 2000],
            "modelUsage": [:] as [String: Any], "permission_denials": [] as [Any], "uuid": UUID().uuidString,
        ]
        if !errors.isEmpty { object["errors"] = errors }
        emit(object)
        interrupted = false
    }

    // MARK: - Turns

    func run() {
        if let code = ProcessInfo.processInfo.environment["CCB_STANDIN_EXIT_AT_START"].flatMap(Int32.init) { exit(code) }
        while true {
            let message: [String: Any]
            if !queued.isEmpty {
                message = queued.removeFirst()
            } else if let next = nextMessage(timeout: 3600) {
                message = next
            } else if eof {
                exit(0)
            } else {
                continue
            }
            guard message["type"] as? String == "user" else { _ = take(message); continue }
            let content = (message["message"] as? [String: Any])?["content"]
            let prompt = content as? String
                ?? ((content as? [[String: Any]])?.compactMap { $0["text"] as? String }.joined(separator: "\n") ?? "")
            if !initialized {
                initialized = true
                emit(["type": "system", "subtype": "init", "session_id": sessionID, "cwd": FileManager.default.currentDirectoryPath,
                      "model": "claude-standin", "tools": ["Bash", "Read", "Edit", "Write", "Grep", "Glob"],
                      "mcp_servers": [] as [Any], "permissionMode": "default", "apiKeySource": "none",
                      "claude_code_version": "0.0.0-standin", "uuid": UUID().uuidString])
            }
            turn(prompt)
        }
    }

    func turn(_ prompt: String) {
        let words = prompt.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        let argument = words.count > 1 ? Int(words[1]) : nil
        switch words.first ?? "" {
        case "tools":
            text("I'll look at the directory, then read a file.")
            tool("Bash", ["command": "ls -la", "description": "List files"], result: "total 8\nREADME.md\nPackage.swift\n")
            tool("Read", ["file_path": "/work/README.md"], result: [["type": "text", "text": "# Title\nline 2\nline 3"]])
            text("Done: two tools ran.")
            finish(resultText: "Done: two tools ran.")
        case "ask":
            if let denied = tool("Bash", ["command": "rm -rf build", "description": "Clean"], result: "removed build\n") {
                text("The tool was denied: \(denied)")
            } else {
                text("The tool ran.")
            }
            finish()
        case "ask2":
            let first = tool("Bash", ["command": "make one"], result: "one\n")
            let second = tool("Bash", ["command": "make two"], result: "two\n")
            text("first: \(first ?? "ran"), second: \(second ?? "ran")")
            finish()
        case "slow":
            for tick in 1...(argument ?? 100) {
                text("tick \(tick)")
                if pause(0.2) { break }
            }
            finish()
        case "crash":
            text("about to crash")
            writeRaw(#"{"type":"assistant","message":{"content":[{"type":"text","text":"cut off"#)
            exit(3)
        case "silence":
            if !pause(Double(argument ?? 5)) { text("back after \(argument ?? 5) s of silence") }
            finish()
        case "garbage":
            writeRaw("this line is not JSON at all\n")
            writeRaw(#"{"type":"mystery_event","detail":"a type no SDK knows"}"# + "\n")
            writeRaw("[1,2,3]\n")
            writeRaw(#"{"type":"assistant","no_message":true}"# + "\n")
            text("after the garbage")
            finish()
        case "huge":
            let lines = argument ?? 20_000
            let body = (1...lines).map { String(format: "line %06d ", $0) + String(repeating: "x", count: 80) }.joined(separator: "\n")
            tool("Read", ["file_path": "/var/log/huge.log"], result: body, ask: false)
            text("read \(lines) lines")
            finish()
        case "ratelimit":
            emit(["type": "rate_limit_event", "session_id": sessionID, "uuid": UUID().uuidString,
                  "rate_limit_info": ["status": "allowed_warning", "resetsAt": 1_767_225_600, "rateLimitType": "five_hour"]])
            text("close to the limit")
            finish()
        case "thinking":
            assistant([["type": "thinking", "thinking": "Let me think about this carefully.", "signature": "c2ln"],
                       ["type": "text", "text": "Thought about it."]])
            finish()
        case "system":
            emit(["type": "system", "subtype": "status", "status": "compacting", "session_id": sessionID, "uuid": UUID().uuidString])
            text("compacted")
            finish()
        case "error":
            finish(subtype: "error_max_turns", isError: true, errors: ["Reached the maximum number of turns (1)"])
        case "session":
            text("session \(sessionID) resumed=\(resumed)")
            finish()
        default:
            text("Stand-in reply to: \(prompt)")
            finish(resultText: "Stand-in reply to: \(prompt)")
        }
    }
}

signal(SIGPIPE, SIG_IGN)
Standin().run()
