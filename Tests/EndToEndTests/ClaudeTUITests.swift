// ClaudeTUITests: the TUI's side of Claude's stream-json mode, end to end: the real binary in
// tmux against a framed fake agent made of the test's own ends of real FIFOs (it writes
// `ccb-jsonl/1` frames, as `cc-bridge-agent --claude` does, and reads what the TUI writes back).
// A turn with two tool calls renders as a transcript with its footer; an approval is answered
// from the overlay and from the list and the answer reaches the in-FIFO; a turn that ends on an
// instance not in view rings the terminal (bytes seen through `tmux pipe-pane`) and one in view
// does not; the terminal title (tmux `#{pane_title}`) counts the instances waiting.

import Foundation
import Testing
import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// The agent side of one instance: frames into its out-FIFO, host messages out of its in-FIFO.
final class FakeClaudeAgent {
    let reader: Int32
    let writer: Int32
    private var received = ""

    init(_ s: TUISession, _ name: String) throws {
        signal(SIGPIPE, SIG_IGN)
        reader = open(s.pipes + "/\(name).in.fifo", O_RDONLY | O_NONBLOCK)
        writer = open(s.pipes + "/\(name).out.fifo", O_RDWR | O_NONBLOCK)
        guard reader >= 0, writer >= 0 else { throw HarnessError("cannot open the FIFOs of \(name): errno \(errno)") }
        send(.hello(protocol: framedProtocolName, agent: "fake-claude", version: "1", pid: Int(getpid())))
    }

    deinit { close(reader); close(writer) }

    func send(_ message: AgentMessage) {
        var bytes = Array((message.encode() + "\n").utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
            if n > 0 { bytes = bytes.dropFirst(n) } else if errno == EAGAIN { usleep(1000) } else { break }
        }
    }

    func claude(_ frame: ClaudeFrame) { send(.claude(frame)) }

    /// Host messages that arrived so far, decoded.
    var messages: [HostMessage] {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(reader, &buffer, buffer.count)
            guard n > 0 else { break }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return received.split(separator: "\n").compactMap { try? HostMessage.decode(line: Array($0.utf8)).get() }
    }

    /// Waits for the prompt `text` and returns its turn id.
    func prompt(_ text: String) -> String? {
        var id: String?
        _ = eventually { () -> Bool in
            for case .prompt(let pid, let body) in messages where body == text { id = pid }
            return id != nil
        }
        return id
    }
}

@Suite(.serialized) struct ClaudeTUITests {
    static func session(_ instances: [String], arguments: [String] = []) throws -> TUISession {
        try TUISession(instances: instances, agentOn: [], size: (110, 30), arguments: arguments)
    }

    static func type(_ s: TUISession, _ text: String) throws {
        try s.tmux.send("Tab")
        try s.tmux.send(text, literal: true)
        try s.tmux.send("Enter")
    }

    /// Esc out of the prompt, waiting until the list has the keys (a key sent at once after Esc
    /// would arrive as Alt+key).
    static func leavePrompt(_ s: TUISession) throws {
        try s.tmux.send("Escape")
        #expect(try s.tmux.waitFor("i to type a prompt"), "screen:\n\(s.tmux.dump)")
    }

    static let result = TurnResultInfo(subtype: "success", isError: false, durationMs: 3400, inputTokens: 1500, outputTokens: 220,
                                       cacheReadTokens: 0, cacheWriteTokens: 0, costUSD: 0.0123, sessionCostUSD: 0.0123)

    @Test func aTurnWithTwoToolCallsRendersAsATranscriptWithItsFooter() throws {
        let s = try Self.session(["cl"])
        let agent = try FakeClaudeAgent(s, "cl")
        #expect(try s.tmux.waitFor("framed protocol"), "screen:\n\(s.tmux.dump)")
        try Self.type(s, "run the tests")
        let id = try #require(agent.prompt("run the tests"), "no prompt arrived")
        agent.claude(.session(ClaudeSessionInfo(sessionID: "s1", model: "claude-test", cwd: "/w", tools: "Bash,Read",
                                                claudeVersion: "2.0", resumed: false)))
        agent.send(.chunk(id: id, data: "## Plan\nI will run them.\n"))
        agent.claude(.toolUse(id: id, ToolUseInfo(toolID: "u1", name: "Bash", summary: "npm test")))
        agent.claude(.toolResult(id: id, ToolResultInfo(toolID: "u1", isError: false, bytes: 40, lines: 12, excerpt: "ok 1\nok 2")))
        agent.claude(.toolUse(id: id, ToolUseInfo(toolID: "u2", name: "Read", summary: "src/app.swift")))
        agent.claude(.toolResult(id: id, ToolResultInfo(toolID: "u2", isError: true, bytes: 12, lines: 1, excerpt: "no such file")))
        agent.send(.chunk(id: id, data: "All green.\n"))
        agent.claude(.result(id: id, Self.result))
        agent.send(.done(id: id, status: .ok, exit: nil))
        #expect(try s.tmux.waitFor("✻ 3.4 s · 1.5k in · 220 out · $0.0123"), "screen:\n\(s.tmux.dump)")
        let lines = try s.tmux.capture().map { $0.split(separator: "│", maxSplits: 1).last.map(String.init) ?? $0 }
        let order = ["❯ run the tests", "## Plan", "I will run them.", "⏺ Bash  npm test  ✔", "⏺ Read  src/app.swift  ✘",
                     "All green.", "✻ 3.4 s"]
        let rows = order.map { wanted in lines.firstIndex { $0.hasPrefix(wanted) } }
        #expect(rows.allSatisfy { $0 != nil } && rows.compactMap { $0 } == rows.compactMap { $0 }.sorted(), "screen:\n\(s.tmux.dump)")
        #expect(lines.contains { $0.hasPrefix("⏺ Bash  npm test  ✔") && $0.contains("⎿ 12 lines") }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("$0.0123│"), "the list shows the cost:\n\(s.tmux.dump)")
        // `e` expands the nearest tool result in place.
        try Self.leavePrompt(s)
        try s.tmux.send("e")
        #expect(try s.tmux.waitFor("    no such file"), "screen:\n\(s.tmux.dump)")
    }

    @Test func anApprovalAnsweredFromTheOverlayAndFromTheList() throws {
        let s = try Self.session(["cl", "zz"])
        let cl = try FakeClaudeAgent(s, "cl")
        let zz = try FakeClaudeAgent(s, "zz")
        #expect(try s.tmux.waitFor("framed protocol"), "screen:\n\(s.tmux.dump)")
        try Self.type(s, "deploy")
        let id = try #require(cl.prompt("deploy"))
        try Self.leavePrompt(s)   // back from the prompt: the request opens the overlay
        cl.claude(.permission(id: id, PermissionRequestInfo(requestID: "r1", tool: "Bash", summary: "make deploy",
                                                            input: #"{"command":"make deploy"}"#)))
        #expect(try s.tmux.waitFor("cl asks for permission"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains(#"{"command":"make deploy"}"#), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("y")
        #expect(eventually { cl.messages.contains(.permissionAnswer(id: id, requestID: "r1", behavior: .allow, message: "")) },
                "screen:\n\(s.tmux.dump)")
        // From the list, without attaching: `zz` is not in view; its badge shows, `p` answers.
        zz.claude(.permission(id: "z1", PermissionRequestInfo(requestID: "r2", tool: "Write", summary: "prod.env", input: "{}")))
        #expect(try s.tmux.waitFor("! approve?"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.paneInfo("#{pane_title}") == "cc-bridge-tui: 1 waiting")
        try s.tmux.send("j")
        try s.tmux.send("p")
        #expect(try s.tmux.waitFor("zz asks for permission"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("n")
        try s.tmux.send("not on prod", literal: true)
        try s.tmux.send("Enter")
        #expect(eventually { zz.messages.contains(.permissionAnswer(id: "z1", requestID: "r2", behavior: .deny, message: "not on prod")) },
                "screen:\n\(s.tmux.dump)")
        #expect(eventually { (try? s.tmux.paneInfo("#{pane_title}")) == "cc-bridge-tui" }, "title: \((try? s.tmux.paneInfo("#{pane_title}")) ?? "")")
    }

    @Test func aTurnEndingOutOfViewRingsAndTheTitleCountsIt() throws {
        let s = try Self.session(["cl", "zz"])
        let log = s.scratch.file("pane.bytes")
        try s.tmux.tmux(["pipe-pane", "-o", "-t", s.tmux.session, "cat >> " + Tmux.quote(log)])
        let cl = try FakeClaudeAgent(s, "cl")
        let zz = try FakeClaudeAgent(s, "zz")
        #expect(try s.tmux.waitFor("framed protocol"), "screen:\n\(s.tmux.dump)")
        func bells() -> Int { ((try? Data(contentsOf: URL(fileURLWithPath: log))) ?? Data()).filter { $0 == 0x07 }.count }
        // A turn on `zz`, then back to `cl`.
        try s.tmux.send("j")
        #expect(try s.tmux.waitFor("─ prompt → zz"))
        try Self.type(s, "background job")
        let zid = try #require(zz.prompt("background job"))
        try Self.leavePrompt(s)
        try s.tmux.send("k")
        #expect(try s.tmux.waitFor("─ prompt → cl"))
        // The one in view ends: no bell.
        try Self.type(s, "here")
        let cid = try #require(cl.prompt("here"))
        cl.send(.chunk(id: cid, data: "in view\n"))
        cl.claude(.result(id: cid, Self.result))
        cl.send(.done(id: cid, status: .ok, exit: nil))
        #expect(try s.tmux.waitFor("in view"))
        #expect(try s.tmux.waitFor("✻ 3.4 s"))
        usleep(500_000)
        #expect(bells() == 0, "a bell for the instance in view")
        #expect(try s.tmux.paneInfo("#{pane_title}") == "cc-bridge-tui")
        // The one not in view ends: one bell, and the title counts it until it is looked at.
        zz.send(.chunk(id: zid, data: "done in the background\n"))
        zz.send(.done(id: zid, status: .ok, exit: nil))
        #expect(eventually { bells() == 1 }, "bells: \(bells())")
        #expect(eventually { (try? s.tmux.paneInfo("#{pane_title}")) == "cc-bridge-tui: 1 waiting" })
        try Self.leavePrompt(s)
        try s.tmux.send("j")
        #expect(eventually { (try? s.tmux.paneInfo("#{pane_title}")) == "cc-bridge-tui" })
    }

    /// The real agent in Claude mode with the stand-in as `claude`: a request answered from the
    /// list with a denial and its reason; the stand-in's tool did not run and it says why.
    @Test func aDenialFromTheListReachesTheRealAgentAndTheStandIn() throws {
        let s = try Self.session(["cc"])
        let agent = try Running(try Binaries.agent, ["serve", "--name", "cc", "--pipe-dir", s.pipes, "--protocol", "jsonl",
                                                     "--claude", "--claude-command", try Binaries.path("ccb-claude-standin")])
        s.agents.append(agent)
        #expect(try s.tmux.waitFor("framed protocol"), "screen:\n\(s.tmux.dump)")
        try Self.type(s, "ask")
        try Self.leavePrompt(s)
        #expect(try s.tmux.waitFor("! approve?"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("p")
        #expect(try s.tmux.waitFor("cc asks for permission"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.screen().contains("rm -rf build"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("n")
        try s.tmux.send("keep the build", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("The tool was denied: keep the build"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("⏺ Bash"), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.capture().contains { $0.contains("⏺ Bash") && $0.contains("✘") }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("✻ "), "the footer:\n\(s.tmux.dump)")
    }
}
