// FramedCodec / FramedMessage: round trips, exact wire form, ASCII safety, and garbage decoding.

import Foundation
import Testing
@testable import BridgeCore

private let awkward = "line one\nline \"two\"\t\\ back\r\u{0}\u{1B}[31m\u{7F}\u{85} é ❯ 😀 \u{2028}"

private let agentMessages: [AgentMessage] = [
    .hello(protocol: "ccb-jsonl/1", agent: "cc-bridge-agent", version: "0.1.0", pid: 4242),
    .chunk(id: "r-1", data: "plain"),
    .chunk(id: "r-1", data: awkward),
    .chunk(id: awkward, data: ""),
    .done(id: "r-1", status: .ok, exit: 0),
    .done(id: "r-2", status: .error, exit: -1),
    .done(id: "r-3", status: .interrupted, exit: nil),
    .heartbeat(ts: 1_700_000_000),
    .heartbeat(ts: 1_700_000_000.125),
    .heartbeat(ts: 0),
    .notice(text: "agent restarted"),
    .notice(text: awkward),
    .claude(.session(ClaudeSessionInfo(sessionID: "s-1", model: "claude-x", cwd: "/work", tools: "Bash,Read",
                                       claudeVersion: "2.0", resumed: true))),
    .claude(.toolUse(id: "r-1", ToolUseInfo(toolID: "toolu_1", name: "Bash", summary: awkward))),
    .claude(.toolResult(id: "r-1", ToolResultInfo(toolID: "toolu_1", isError: true, bytes: 12, lines: 2, excerpt: awkward))),
    .claude(.result(id: "r-1", TurnResultInfo(subtype: "success", isError: false, durationMs: 2100, inputTokens: 10,
                                              outputTokens: 20, cacheReadTokens: 3, cacheWriteTokens: 4,
                                              costUSD: 0.0125, sessionCostUSD: 1.5))),
    .claude(.permission(id: "r-1", PermissionRequestInfo(requestID: "req-1", tool: "Bash", summary: "rm -rf build",
                                                         input: #"{"command":"rm -rf build"}"#))),
    .claude(.rateLimit(RateLimitInfo(status: "allowed_warning", kind: "five_hour", resetsAt: 1_800_000_000))),
    .claude(.rateLimit(RateLimitInfo(status: "rejected", kind: "", resetsAt: nil))),
    .claude(.stalled(id: "r-1", silentSeconds: 120)),
]

private let hostMessages: [HostMessage] = [
    .prompt(id: "p1", text: "hello"),
    .prompt(id: "p2", text: awkward),
    .prompt(id: "p3", text: ""),
    .interrupt(id: "p1"),
    .permissionAnswer(id: "p1", requestID: "req-1", behavior: .allow, message: ""),
    .permissionAnswer(id: "p1", requestID: "req-2", behavior: .allowSession, message: ""),
    .permissionAnswer(id: "p1", requestID: "req-3", behavior: .deny, message: awkward),
]

@Test(arguments: agentMessages)
func agentMessageRoundTrips(message: AgentMessage) {
    let line = message.encode()
    #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }, "ASCII-safe single line: \(line)")
    #expect(AgentMessage.decode(line: Array(line.utf8)) == .success(message))
    #expect(AgentMessage.decode(line: Array((line + "\r\n").utf8)) == .success(message))
    // Foundation agrees that it is one valid JSON object.
    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    #expect(object != nil)
}

@Test(arguments: hostMessages)
func hostMessageRoundTrips(message: HostMessage) {
    let line = message.encode()
    #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
    #expect(HostMessage.decode(line: Array(line.utf8)) == .success(message))
    let type = ["permission_answer", "prompt", "interrupt"].first { line.contains(#""type":"\#($0)""#) } ?? "?"
    #expect(AgentMessage.decode(line: Array(line.utf8)) == .failure(.unknownType(type)))
}

@Test func wireFormIsAsSpecified() {
    #expect(HostMessage.prompt(id: "a", text: "x\ny").encode() == #"{"id":"a","type":"prompt","text":"x\ny"}"#)
    #expect(HostMessage.interrupt(id: "a").encode() == #"{"id":"a","type":"interrupt"}"#)
    #expect(AgentMessage.hello(protocol: "ccb-jsonl/1", agent: "cc-bridge-agent", version: "1.2", pid: 7).encode()
            == #"{"type":"hello","protocol":"ccb-jsonl/1","agent":"cc-bridge-agent","version":"1.2","pid":7}"#)
    #expect(AgentMessage.chunk(id: "a", data: "é😀").encode() == #"{"id":"a","type":"chunk","data":"\u00e9\ud83d\ude00"}"#)
    #expect(AgentMessage.done(id: "a", status: .interrupted, exit: 130).encode()
            == #"{"id":"a","type":"done","status":"interrupted","exit":130}"#)
    #expect(AgentMessage.heartbeat(ts: 1.5).encode() == #"{"type":"heartbeat","ts":1.5}"#)
    #expect(AgentMessage.heartbeat(ts: .nan).encode() == #"{"type":"heartbeat","ts":0}"#)
    #expect(AgentMessage.claude(.stalled(id: "a", silentSeconds: 90)).encode()
            == #"{"id":"a","type":"stalled","silent_seconds":90}"#)
    #expect(HostMessage.permissionAnswer(id: "a", requestID: "r", behavior: .allowSession, message: "").encode()
            == #"{"id":"a","type":"permission_answer","request_id":"r","behavior":"allow_session"}"#)
    #expect(HostMessage.decode(line: Array(#"{"id":"a","type":"permission_answer","request_id":"r","behavior":"always"}"#.utf8))
            == .failure(.invalidValue(field: "behavior")))
}

@Test(arguments: [
    // Other writers' forms that must still decode.
    (#"  { "type" : "chunk" , "id" : "x", "data" : "a\/b\u00e9" , "extra": {"k": [1, 2, {"z": null}]}, "n": 1e3 }  "#,
     AgentMessage.chunk(id: "x", data: "a/bé")),
    (#"{"type":"done","id":"x","status":"ok","exit":null}"#, .done(id: "x", status: .ok, exit: nil)),
    (#"{"type":"done","id":"x","status":"ok"}"#, .done(id: "x", status: .ok, exit: nil)),
    (#"{"type":"done","id":"x","status":"ok","exit":2.0}"#, .done(id: "x", status: .ok, exit: 2)),
    (#"{"type":"heartbeat","ts":17e8}"#, .heartbeat(ts: 1_700_000_000)),
    (#"{"type":"notice","text":"\ud83d\ude00 \ud800 x"}"#, .notice(text: "😀 \u{FFFD} x")),   // lone surrogate repaired
    (#"{"type":"notice","text":"old","text":"new"}"#, .notice(text: "new")),
    ("{\"type\":\"notice\",\"text\":\"raw é\"}", .notice(text: "raw é")),
])
func lenientButValidFormsDecode(line: String, expected: AgentMessage) {
    #expect(AgentMessage.decode(line: Array(line.utf8)) == .success(expected))
}

@Test(arguments: [
    ("", "syntax"),
    ("   ", "syntax"),
    ("not json", "syntax"),
    ("[1,2]", "notAnObject"),
    ("\"str\"", "notAnObject"),
    ("{", "syntax"),
    ("{\"type\":", "syntax"),
    ("{\"type\":\"chunk\",\"id\":\"a\",\"data\":\"unterminated", "syntax"),
    ("{\"type\":\"chunk\",\"id\":\"a\",\"data\":\"bad \\x escape\"}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":\"a\",\"data\":\"raw\nnewline\"}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":\"a\",\"data\":\"\\u12\"}", "syntax"),
    ("{\"type\":\"chunk\"} trailing", "syntax"),
    ("{\"type\":\"chunk\",}", "syntax"),
    ("{type:\"chunk\"}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":01}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":-}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":1.}", "syntax"),
    ("{\"type\":\"chunk\",\"id\":tru}", "syntax"),
    ("{\"type\":\"chunk\",\"x\":[1,2}", "syntax"),
    ("{\"type\":\"chunk\",\"x\":{\"a\" 1}}", "syntax"),
    ("{}", "missingField"),
    ("{\"type\":\"chunk\",\"id\":\"a\"}", "missingField"),
    ("{\"type\":\"hello\",\"protocol\":\"ccb-jsonl/1\",\"agent\":\"a\",\"version\":\"1\"}", "missingField"),
    ("{\"type\":42}", "wrongType"),
    ("{\"type\":\"chunk\",\"id\":7,\"data\":\"x\"}", "wrongType"),
    ("{\"type\":\"chunk\",\"id\":\"a\",\"data\":null}", "wrongType"),
    ("{\"type\":\"heartbeat\",\"ts\":\"now\"}", "wrongType"),
    ("{\"type\":\"done\",\"id\":\"a\",\"status\":\"ok\",\"exit\":\"1\"}", "wrongType"),
    ("{\"type\":\"done\",\"id\":\"a\",\"status\":\"maybe\"}", "invalidValue"),
    ("{\"type\":\"done\",\"id\":\"a\",\"status\":\"ok\",\"exit\":1.5}", "invalidValue"),
    ("{\"type\":\"hello\",\"protocol\":\"p\",\"agent\":\"a\",\"version\":\"1\",\"pid\":1e300}", "invalidValue"),
    ("{\"type\":\"hello\",\"protocol\":\"p\",\"agent\":\"a\",\"version\":\"1\",\"pid\":99999999999999999999}", "invalidValue"),
    ("{\"type\":\"heartbeat\",\"ts\":1e999}", "invalidValue"),
    ("{\"type\":\"prompt\",\"id\":\"a\",\"text\":\"x\"}", "unknownType"),
    ("{\"type\":\"future-thing\"}", "unknownType"),
])
func garbageFailsWithTheRightError(line: String, kind: String) {
    let result = AgentMessage.decode(line: Array(line.utf8))
    guard case .failure(let error) = result else {
        Issue.record("decoded garbage \(line) as \(result)")
        return
    }
    #expect(String(describing: error).hasPrefix(kind), "\(line) -> \(error)")
}

@Test func invalidUTF8AndDeepNestingAndHugeNumbersFail() {
    var bytes = Array(#"{"type":"notice","text":"a"#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
    #expect(AgentMessage.decode(line: bytes) == .failure(.invalidUTF8))
    bytes = Array(#"{"type":"notice","text":"a"#.utf8) + [0xE2, 0x9D] + Array(#""}"#.utf8)
    #expect(AgentMessage.decode(line: bytes) == .failure(.invalidUTF8))

    let deep = #"{"type":"notice","text":"x","n":"# + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
    #expect(AgentMessage.decode(line: Array(deep.utf8)) == .failure(.tooDeep))
    let deepObjects = #"{"type":"notice","text":"x","n":"# + String(repeating: #"{"a":"#, count: 50_000) + "}"
    #expect(AgentMessage.decode(line: Array(deepObjects.utf8)) == .failure(.tooDeep))
    let fine = #"{"type":"notice","text":"x","n":"# + String(repeating: "[", count: 20) + String(repeating: "]", count: 20) + "}"
    #expect(AgentMessage.decode(line: Array(fine.utf8)) == .success(.notice(text: "x")))

    let longNumber = #"{"type":"heartbeat","ts":"# + String(repeating: "9", count: 10_000) + "}"
    guard case .failure = AgentMessage.decode(line: Array(longNumber.utf8)) else {
        Issue.record("a 10,000-digit number decoded")
        return
    }
}

@Test func randomGarbageNeverTraps() {
    var rng = SplitMix64(seed: 99)
    let seeds = agentMessages.map { Array($0.encode().utf8) } + hostMessages.map { Array($0.encode().utf8) }
    let alphabet = Array(#"{}[]":,\\u0123456789eE+-.truefalsnl "#.utf8) + [0x00, 0x0A, 0xFF, 0xC2, 0xE2, 0xED, 0xA0]
    var decoded = 0
    for round in 0..<20_000 {
        var bytes = seeds[Int(rng.next() % UInt64(seeds.count))]
        // Mutate: flip, insert, delete or truncate at random places.
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            guard !bytes.isEmpty else { break }
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 4 {
            case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
            case 2: bytes.remove(at: at)
            default: bytes.removeSubrange(at...)
            }
        }
        if round % 2 == 0 {
            if case .success = AgentMessage.decode(line: bytes) { decoded += 1 }
        } else {
            if case .success = HostMessage.decode(line: bytes) { decoded += 1 }
        }
    }
    #expect(decoded > 0)   // some mutations stay valid (e.g. inside a string); the rest fail cleanly
}
