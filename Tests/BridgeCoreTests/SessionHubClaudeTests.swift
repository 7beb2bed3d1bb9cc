// SessionHubClaudeTests: the hub's policy for an agent in Claude stream-json mode, against a
// framed fake agent made of the test's own ends of real FIFOs: the test writes `ccb-jsonl/1`
// frames into the out-FIFO and reads what the hub writes into the in-FIFO. A permission request
// makes the activity "waiting for approval" and keeps the turn from timing out; the answer reaches
// the in-FIFO as one `permission_answer` line through the one delivery path; tool calls and the
// footer go into the turn's history as transcript lines; an error result makes it "failed"; the
// watchdog's stall shows until the next frame.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// The agent's side of instance `a`: writes frames, reads what the host sends.
final class FramedFakeAgent {
    let reader: Int32
    let writer: Int32
    var received = ""

    init(_ h: HubFixture) throws {
        reader = open(h.inPath, O_RDONLY | O_NONBLOCK)
        writer = open(h.outPath, O_RDWR | O_NONBLOCK)
        guard reader >= 0, writer >= 0 else { throw POSIXError(.EIO) }
        send(.hello(protocol: framedProtocolName, agent: "fake", version: "1", pid: Int(getpid())))
    }

    deinit { close(reader); close(writer) }

    func send(_ message: AgentMessage) {
        let bytes = Array((message.encode() + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
    }

    /// Reads what arrived on the in-FIFO so far.
    func drain() -> String {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(reader, &buffer, buffer.count)
            guard n > 0 else { break }
            received += String(decoding: buffer[0..<n], as: UTF8.self)
        }
        return received
    }

    /// The host messages received so far, decoded.
    var messages: [HostMessage] {
        drain().split(separator: "\n").compactMap { try? HostMessage.decode(line: Array($0.utf8)).get() }
    }
}

@Suite(.serialized) struct SessionHubClaudeTests {
    @Test func approvalWaitsWithoutTimeoutAndTheAnswerReachesTheInFifoOnce() throws {
        var settings = SessionSettings()
        settings.requestTimeout = 0.5
        let h = try HubFixture(session: settings)
        let agent = try FramedFakeAgent(h)
        #expect(h.spin { h.hub.mode(of: "a") == .framed })
        h.hub.send("run the tests", to: "a", promptID: "t1")
        #expect(h.spin { agent.messages.contains(.prompt(id: "t1", text: "run the tests")) }, "in: \(agent.received)")
        agent.send(.claude(.permission(id: "t1", PermissionRequestInfo(requestID: "r1", tool: "Bash", summary: "npm test",
                                                                       input: #"{"command":"npm test"}"#))))
        #expect(h.spin { h.hub.activity(of: "a") == .waitingForApproval(1) }, "events: \(h.activities)")
        // Longer than request_timeout: a turn waiting for the user never times out.
        let until = MonotonicClock.now() + 1.2
        while MonotonicClock.now() < until { h.loop.runOnce(timeout: 0.05) }
        #expect(h.turns.last?.status.isOpen == true, "turn: \(String(describing: h.turns.last))")
        #expect(h.hub.approvals(of: "a").map(\.request.requestID) == ["r1"])
        #expect(h.hub.answerPermission(instance: "a", requestID: "r1", behavior: .allowSession, message: ""))
        #expect(!h.hub.answerPermission(instance: "a", requestID: "r1", behavior: .allow, message: ""), "answered twice")
        #expect(h.spin { agent.messages.contains(.permissionAnswer(id: "t1", requestID: "r1", behavior: .allowSession, message: "")) },
                "in: \(agent.received)")
        #expect(h.hub.activity(of: "a") == .working)
        #expect(agent.messages.filter { if case .permissionAnswer = $0 { true } else { false } }.count == 1)
    }

    @Test func toolCallsAndFooterGoIntoTheHistoryAndAnErrorResultIsFailed() throws {
        let h = try HubFixture()
        let agent = try FramedFakeAgent(h)
        #expect(h.spin { h.hub.mode(of: "a") == .framed })
        h.hub.send("fix it", to: "a", promptID: "t1")
        #expect(h.spin { agent.messages.contains(.prompt(id: "t1", text: "fix it")) })
        agent.send(.chunk(id: "t1", data: "Looking.\n"))
        agent.send(.claude(.toolUse(id: "t1", ToolUseInfo(toolID: "u1", name: "Bash", summary: "npm test"))))
        agent.send(.claude(.stalled(id: "t1", silentSeconds: 30)))
        #expect(h.spin { h.hub.activity(of: "a") == .stalled(30) }, "events: \(h.activities)")
        agent.send(.claude(.toolResult(id: "t1", ToolResultInfo(toolID: "u1", isError: true, bytes: 20, lines: 3, excerpt: "a\nb\nc"))))
        #expect(h.spin { h.hub.activity(of: "a") == .working }, "a frame ends the stall: \(h.activities)")
        agent.send(.claude(.result(id: "t1", TurnResultInfo(subtype: "error_during_execution", isError: true, durationMs: 2100,
                                                             inputTokens: 1200, outputTokens: 340, cacheReadTokens: 0,
                                                             cacheWriteTokens: 0, costUSD: 0.0123, sessionCostUSD: 0.05))))
        agent.send(.done(id: "t1", status: .ok, exit: nil))
        #expect(h.spin { h.hub.activity(of: "a") == .failed }, "events: \(h.activities)")
        let response = try #require(h.turns.last?.response)
        let lines = response.split(separator: "\n").map(String.init)
        #expect(lines.first == "Looking.")
        #expect(lines.contains { $0.hasPrefix("⏺ Bash  npm test  ✘ ") && $0.hasSuffix("⎿ 3 lines") }, "response: \(response)")
        #expect(lines.last == "✻ 2.1 s · 1.2k in · 340 out · $0.0123 · error: error_during_execution")
    }
}
