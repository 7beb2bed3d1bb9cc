// ClaudeModeTests: `serve --claude` end to end: the real cc-bridge-agent binary on real FIFOs, with
// ccb-claude-standin (Tests/Fixtures/ClaudeStandin, a scripted STAND-IN for Claude Code, not
// Claude Code) as its child. Each mapping of docs/protocol.md's Claude section, the interrupt,
// the permission round trip, the resume after a crash, the watchdog, relayed garbage. Where a
// real `claude` is on PATH, the last test runs one turn against it too.

import Foundation
import Testing
@testable import BridgeAgent
import BridgeCore

@Suite(.serialized) struct ClaudeModeTests {
    /// An agent in Claude mode with the stand-in as its child, logging what the stand-in reads.
    final class Claude {
        let fixture: AgentFixture
        let reader: OutReader
        var standinLog: String { fixture.directory + "/standin.log" }

        init(stallAfter: Double = 120, command: String? = nil, extra: [String] = []) throws {
            let standin = URL(fileURLWithPath: try Harness.binaryPath()).deletingLastPathComponent()
                .appendingPathComponent("ccb-claude-standin").path
            guard command != nil || access(standin, X_OK) == 0 else {
                throw HarnessError("ccb-claude-standin not found at \(standin): run `swift build` first")
            }
            // The stand-in logs its argv and every line it reads to a file in the test's directory.
            let dir = try Harness.temporaryDirectory()
            let log = dir + "/standin.log"
            let args = ["--protocol", "jsonl", "--heartbeat", "0", "--claude", "--claude-command", command ?? standin,
                        "--stall-after", String(stallAfter), "--"] + (command == nil ? ["--standin-log", log] : []) + extra
            fixture = try AgentFixture(args, directory: dir)
            reader = try fixture.pipes.reader()
        }

        func send(_ object: [String: Any]) throws {
            let data = try JSONSerialization.data(withJSONObject: object)
            try fixture.pipes.sendLine(String(decoding: data, as: UTF8.self))
        }

        func prompt(_ id: String, _ text: String) throws { try send(["id": id, "type": "prompt", "text": text]) }

        func answer(_ id: String, _ requestID: String, _ behavior: String, _ message: String = "") throws {
            try send(["id": id, "type": "permission_answer", "request_id": requestID, "behavior": behavior, "message": message])
        }

        var frames: [[String: Any]] { reader.jsonLines() }

        /// Waits for a frame of `type` (and turn `id`) for which `condition` holds; returns it.
        @discardableResult
        func waitFor(_ type: String, id: String? = nil, timeout: Double = 30,
                     _ condition: @escaping ([String: Any]) -> Bool = { _ in true }) throws -> [String: Any] {
            var found: [String: Any]?
            let match: ([String: Any]) -> Bool = { f in
                f["type"] as? String == type && (id == nil || f["id"] as? String == id) && condition(f)
            }
            do {
                try reader.read(timeout: timeout) { _ in
                    found = self.frames.first(where: match)
                    return found != nil
                }
            } catch {
                throw HarnessError("no \(type) frame\(id.map { " for \($0)" } ?? ""): \(error); agent log: \(fixture.agent.log)")
            }
            return found!
        }

        func index(of type: String, id: String? = nil, _ condition: ([String: Any]) -> Bool = { _ in true }) -> Int? {
            frames.firstIndex { $0["type"] as? String == type && (id == nil || $0["id"] as? String == id) && condition($0) }
        }

        func chunks(_ id: String) -> String {
            frames.filter { $0["type"] as? String == "chunk" && $0["id"] as? String == id }
                .compactMap { $0["data"] as? String }.joined()
        }

        var standinInput: String { (try? String(contentsOfFile: standinLog, encoding: .utf8)) ?? "" }
    }

    @Test func aTurnWithTwoToolsMapsEveryEventAndEndsWithResultThenDone() throws {
        let c = try Claude()
        try c.prompt("p1", "tools")
        let session = try c.waitFor("session")
        #expect(session["model"] as? String == "claude-standin")
        #expect(session["tools"] as? String == "Bash,Read,Edit,Write,Grep,Glob")
        #expect(session["claude_version"] as? String == "0.0.0-standin")
        #expect(session["resumed"] as? Bool == false)
        #expect((session["session_id"] as? String)?.hasPrefix("standin-") == true)
        let ask1 = try c.waitFor("permission", id: "p1")
        #expect(ask1["request_id"] as? String == "standin-req-1")
        #expect(ask1["tool"] as? String == "Bash")
        #expect(ask1["summary"] as? String == "ls -la")
        #expect(ask1["input"] as? String == #"{"command":"ls -la","description":"List files"}"#)
        try c.answer("p1", "standin-req-1", "allow")
        try c.waitFor("permission", id: "p1") { $0["request_id"] as? String == "standin-req-2" }
        try c.answer("p1", "standin-req-2", "allow")
        let done = try c.waitFor("done", id: "p1")
        #expect(done["status"] as? String == "ok")
        #expect(done["exit"] as? Int == 0)

        let uses = c.frames.filter { $0["type"] as? String == "tool_use" }
        #expect(uses.map { $0["name"] as? String } == ["Bash", "Read"])
        #expect(uses.map { $0["summary"] as? String } == ["ls -la", "/work/README.md"])
        #expect(uses.map { $0["tool_id"] as? String } == ["toolu_standin_1", "toolu_standin_2"])
        let results = c.frames.filter { $0["type"] as? String == "tool_result" }
        #expect(results.count == 2)
        // The stand-in checks that updatedInput is the original input (is_error otherwise).
        #expect(results.map { $0["is_error"] as? Bool } == [false, false])
        #expect(results.first?["bytes"] as? Int == 32)
        #expect(results.first?["lines"] as? Int == 3)
        #expect(results.first?["excerpt"] as? String == "total 8\nREADME.md\nPackage.swift\n")
        #expect(results.last?["excerpt"] as? String == "# Title\nline 2\nline 3")
        #expect(results.last?["lines"] as? Int == 3)
        #expect(c.chunks("p1") == "I'll look at the directory, then read a file.\nDone: two tools ran.\n")

        let result = try c.waitFor("result", id: "p1")
        #expect(result["subtype"] as? String == "success")
        #expect(result["is_error"] as? Bool == false)
        #expect(result["duration_ms"] as? Int == 1201)
        #expect(result["input_tokens"] as? Int == 100)
        #expect(result["output_tokens"] as? Int == 40)
        #expect(result["cache_read_tokens"] as? Int == 2000)
        #expect(result["cache_write_tokens"] as? Int == 5)
        #expect(result["cost_usd"] as? Double == 0.0125)
        #expect(result["session_cost_usd"] as? Double == 0.0125)
        // Order: session, text, tool use, permission, tool result, ..., result, done.
        let order = ["session", "tool_use", "permission", "tool_result", "result", "done"].map { c.index(of: $0) ?? -1 }
        #expect(order == order.sorted() && !order.contains(-1), "\(c.reader.text)")
        #expect(c.standinInput.contains(#""updatedInput":{"#))
    }

    @Test func queuedAndMultiLinePromptsRunOneAtATimeAndCostIsPerTurn() throws {
        let c = try Claude()
        // Both arrive before the first turn ends: the second waits for the first's result.
        try c.fixture.pipes.send(#"{"id":"m1","type":"prompt","text":"two\nlines ✨"}"# + "\n"
                                 + #"{"id":"m2","type":"prompt","text":"again"}"# + "\n")
        try c.waitFor("done", id: "m2")
        #expect(c.chunks("m1") == "Stand-in reply to: two\nlines ✨\n")
        #expect(c.chunks("m2") == "Stand-in reply to: again\n")
        #expect(c.index(of: "done", id: "m1")! < c.index(of: "chunk", id: "m2")!)
        // The stand-in's total_cost_usd is cumulative (0.0125, 0.025): per turn is the difference.
        let second = try c.waitFor("result", id: "m2")
        #expect(second["cost_usd"] as? Double == 0.0125)
        #expect(second["session_cost_usd"] as? Double == 0.025)
        // One user message line each, the newline (and non-ASCII) escaped inside it.
        let users = c.standinInput.split(separator: "\n").filter { $0.contains(#""type":"user""#) }
        #expect(users.count == 2)
        #expect(users.first?.contains(#""content":"two\nlines \u2728""#) == true, "\(users)")
    }

    @Test func denyCarriesTheReasonToClaude() throws {
        let c = try Claude()
        try c.prompt("d1", "ask")
        let ask = try c.waitFor("permission", id: "d1")
        #expect(ask["summary"] as? String == "rm -rf build")
        try c.answer("d1", "standin-req-1", "deny", "not on a Friday")
        try c.waitFor("done", id: "d1")
        let result = try c.waitFor("tool_result", id: "d1")
        #expect(result["is_error"] as? Bool == true)
        #expect(result["excerpt"] as? String == "not on a Friday")
        #expect(c.chunks("d1") == "The tool was denied: not on a Friday\n")
        #expect(c.standinInput.contains(#""behavior":"deny""#))
    }

    @Test func allowSessionAnswersLaterRequestsForThatToolWithoutAsking() throws {
        let c = try Claude()
        try c.prompt("s1", "ask2")
        try c.waitFor("permission", id: "s1")
        try c.answer("s1", "standin-req-1", "allow_session")
        try c.waitFor("done", id: "s1")
        #expect(c.chunks("s1") == "first: ran, second: ran\n")
        #expect(c.frames.filter { $0["type"] as? String == "permission" }.count == 1)
        try c.waitFor("notice") { ($0["text"] as? String)?.contains("Bash is allowed for the rest of this session") == true }
        try c.waitFor("notice") { ($0["text"] as? String)?.contains("allowed Bash make two without asking") == true }
        // The next turn's request too.
        try c.prompt("s2", "ask")
        try c.waitFor("done", id: "s2")
        #expect(c.chunks("s2") == "The tool ran.\n")
        #expect(c.frames.filter { $0["type"] as? String == "permission" }.count == 1)
        #expect(c.standinInput.components(separatedBy: #""behavior":"allow""#).count - 1 == 3)
    }

    @Test func anAnswerForAnUnknownRequestIsANotice() throws {
        let c = try Claude()
        try c.answer("x", "no-such-request", "allow")
        try c.waitFor("notice") { ($0["text"] as? String)?.contains("ignored a permission answer for 'no-such-request'") == true }
        #expect(!c.standinInput.contains("control_response"))
    }

    @Test func interruptBecomesAControlRequestAndTheTurnEndsInterrupted() throws {
        let c = try Claude()
        try c.prompt("i1", "slow")
        try c.reader.read(untilContains: "tick 2")
        try c.send(["id": "i1", "type": "interrupt"])
        let done = try c.waitFor("done", id: "i1")
        #expect(done["status"] as? String == "interrupted")
        #expect(done["exit"] as? Int == 130)
        #expect(c.index(of: "result", id: "i1")! < c.index(of: "done", id: "i1")!)
        #expect(c.standinInput.contains(#""subtype":"interrupt""#))
        #expect(!c.chunks("i1").contains("tick 100"))
        // The raw 0x03 byte does the same; the next turn is ordinary again.
        try c.prompt("i2", "slow")
        try c.reader.read { String(decoding: $0, as: UTF8.self).contains(#""id":"i2","type":"chunk","data":"tick 2"#) }
        try c.fixture.pipes.send("\u{03}")
        #expect(try c.waitFor("done", id: "i2")["status"] as? String == "interrupted")
        try c.prompt("i3", "hello")
        #expect(try c.waitFor("done", id: "i3")["status"] as? String == "ok")
    }

    @Test func aCrashEndsTheTurnAsAnErrorAndClaudeResumesTheSession() throws {
        let c = try Claude()
        try c.prompt("c1", "crash")
        let done = try c.waitFor("done", id: "c1")
        #expect(done["status"] as? String == "error")
        #expect(done["exit"] as? Int == 3)
        // Its cut-off last line is relayed as text, not dropped.
        #expect(c.chunks("c1").contains(#"{"type":"assistant","message":{"content":[{"type":"text","text":"cut off"#))
        let first = try c.waitFor("session")
        let sessionID = try #require(first["session_id"] as? String)
        try c.waitFor("notice") { ($0["text"] as? String) == "claude exited with status 3; restarting in 1 s with --resume \(sessionID) (attempt 1/5)" }
        // The prompt waits for the restarted Claude, which says `init` when it reads it.
        try c.prompt("c2", "session")
        let resumed = try c.waitFor("session") { $0["resumed"] as? Bool == true }
        #expect(resumed["session_id"] as? String == sessionID)
        try c.waitFor("done", id: "c2")
        #expect(c.chunks("c2") == "session \(sessionID) resumed=true\n")
        #expect(c.standinInput.contains("--resume \(sessionID)"))
        // The restarted process's cost counts from zero again: the turn cost 0.0125, and the
        // session has cost that much in all (the crashed turn reported no result).
        let result = try c.waitFor("result", id: "c2")
        #expect(result["cost_usd"] as? Double == 0.0125)
        #expect(result["session_cost_usd"] as? Double == 0.0125)
    }

    @Test func aResumedClaudeThatCarriesTheSessionCostIsNotCountedTwice() throws {
        // Newer Claude Code versions continue total_cost_usd from the resumed session's total.
        let c = try Claude(extra: ["--standin-resumed-cost", "0.0125"])
        try c.prompt("k1", "hello")
        #expect(try c.waitFor("result", id: "k1")["session_cost_usd"] as? Double == 0.0125)
        try c.prompt("k2", "crash")
        try c.waitFor("done", id: "k2")
        try c.prompt("k3", "hello")
        let result = try c.waitFor("result", id: "k3")
        #expect(result["cost_usd"] as? Double == 0.0125)
        #expect(result["session_cost_usd"] as? Double == 0.025)
    }

    @Test func theWatchdogReportsSilenceWithoutKillingAndNotWhileWaitingForTheUser() throws {
        let c = try Claude(stallAfter: 0.4)
        try c.prompt("w1", "silence 2")
        try c.waitFor("done", id: "w1")
        let stalls = c.frames.filter { $0["type"] as? String == "stalled" }
        #expect(stalls.count >= 2, "\(c.reader.text)")
        #expect(stalls.allSatisfy { $0["id"] as? String == "w1" })
        #expect(stalls.first?["silent_seconds"] as? Int == 0 || stalls.first?["silent_seconds"] as? Int == 1)
        #expect(c.chunks("w1") == "back after 2 s of silence\n")
        #expect(c.index(of: "stalled")! < c.index(of: "done", id: "w1")!)
        // A permission request waiting for the host is not a stall.
        try c.prompt("w2", "ask")
        try c.waitFor("permission", id: "w2")
        _ = c.reader.drain(for: 1.5)
        #expect(c.index(of: "stalled", id: "w2") == nil)
        try c.answer("w2", "standin-req-1", "allow")
        #expect(try c.waitFor("done", id: "w2")["status"] as? String == "ok")
    }

    @Test func unknownEventsAndMalformedLinesAreRelayedAsText() throws {
        let c = try Claude()
        try c.prompt("g1", "garbage")
        try c.waitFor("done", id: "g1")
        #expect(c.chunks("g1") == """
            this line is not JSON at all
            {"type":"mystery_event","detail":"a type no SDK knows"}
            [1,2,3]
            {"type":"assistant","no_message":true}
            after the garbage

            """)
    }

    @Test func aHugeToolResultIsSummarizedWithinTheExcerptBound() throws {
        let c = try Claude()
        try c.prompt("h1", "huge 20000")
        try c.waitFor("done", id: "h1")
        let result = try c.waitFor("tool_result", id: "h1")
        #expect(result["bytes"] as? Int == 20000 * 93 - 1)   // "line 000001 " + 80 x + \n
        #expect(result["lines"] as? Int == 20000)
        let excerpt = try #require(result["excerpt"] as? String)
        #expect(excerpt.utf8.count <= ClaudeFrameLimits.excerpt)
        #expect(excerpt.hasPrefix("line 000001 xxx"))
        #expect(excerpt.hasSuffix("…"))
        #expect(c.chunks("h1") == "read 20000 lines\n")
    }

    @Test func rateLimitThinkingSystemAndErrorResults() throws {
        let c = try Claude()
        try c.prompt("r1", "ratelimit")
        let limit = try c.waitFor("rate_limit")
        #expect(limit["status"] as? String == "allowed_warning")
        #expect(limit["kind"] as? String == "five_hour")
        #expect(limit["resets_at"] as? Double == 1_767_225_600)
        try c.prompt("r2", "thinking")
        try c.waitFor("done", id: "r2")
        #expect(c.chunks("r2") == "Thought about it.\n")   // thinking is not relayed
        try c.prompt("r3", "system")
        try c.waitFor("done", id: "r3")
        try c.waitFor("notice") { ($0["text"] as? String) == "claude: system event 'status'" }
        try c.prompt("r4", "error")
        let done = try c.waitFor("done", id: "r4")
        #expect(done["status"] as? String == "error")
        #expect(done["exit"] as? Int == 1)
        let result = try c.waitFor("result", id: "r4")
        #expect(result["subtype"] as? String == "error_max_turns")
        #expect(result["is_error"] as? Bool == true)
        try c.waitFor("notice") { ($0["text"] as? String) == "claude: error_max_turns: Reached the maximum number of turns (1)" }
    }

    @Test func claudeGetsTheFixedFlagsThenTheExtraArguments() throws {
        let c = try Claude(extra: ["--model", "some model"])
        try c.prompt("a1", "hi")
        try c.waitFor("done", id: "a1")
        let argv = c.standinInput.split(separator: "\n").first { $0.hasPrefix("argv ") }.map(String.init) ?? ""
        #expect(argv.hasSuffix("/ccb-claude-standin --input-format stream-json --output-format stream-json --verbose "
                               + "--permission-prompt-tool stdio --standin-log \(c.standinLog) --model some model"), "\(argv)")
    }

    @Test func claudeModeNeedsTheJsonlProtocol() throws {
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let agent = try AgentProcess(["serve", "--name", "x", "--pipe-dir", dir + "/p", "--claude"], directory: dir)
        #expect(agent.waitForExit(timeout: 20) == 64)
        #expect(agent.log.contains("--claude needs --protocol jsonl"))
    }

    /// The same kind of turn against the real Claude Code, where one is installed and logged in.
    @Test(.enabled(if: ClaudeModeTests.realClaude != nil,
                   "no `claude` on PATH: the real Claude Code is not installed here, only the stand-in ran"))
    func aTurnAgainstTheRealClaude() throws {
        let c = try Claude(command: ClaudeModeTests.realClaude)
        try c.prompt("real", "Reply with the single word: pong")
        let session = try c.waitFor("session", timeout: 120)
        #expect((session["session_id"] as? String)?.isEmpty == false)
        let done = try c.waitFor("done", id: "real", timeout: 180)
        #expect(done["status"] as? String == "ok", "\(c.reader.text)")
        #expect(c.index(of: "result", id: "real") != nil)
        #expect(c.chunks("real").lowercased().contains("pong"))
    }

    static let realClaude: String? = {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = String(dir) + "/claude"
            if access(path, X_OK) == 0 { return String(path) }
        }
        return nil
    }()
}
