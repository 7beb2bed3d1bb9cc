// ServerScriptInputsTests: what a script does through a running server, with the real binaries:
// `send --wait-reply` gets the reply through the server (framed: exact; plain: best effort, and
// said so; a turn that does not end in time exits 5); `send --id` twice delivers once and gives
// both senders the same answer; after `kill -9` of the server and a restart, `history` still has
// every turn that had ended (with its reply), not only the prompts.

import BridgeCore
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct ServerScriptInputsTests {
    static func startAgent(_ s: ServerScratch, _ arguments: [String]) throws -> Running {
        try Running(try Binaries.agent, ["serve", "--name", "bot", "--pipe-dir", s.pipes, "--heartbeat", "0"] + arguments)
    }

    /// The server reads bot (a framed agent's hello was written before the server started, so
    /// the server has read it by the time bot is idle).
    static func serverReadsBot(_ s: ServerScratch, mode: String) throws -> Bool {
        try eventually(timeout: 30) { try s.tui(["list"]).stdout.contains("idle") }
    }

    @Test(arguments: ["jsonl", "plain"])
    func sendWaitReplyGoesThroughTheServer(_ proto: String) throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s, ["--protocol", proto, "--echo"])
        defer { agent.signal(SIGKILL) }
        let pid = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: proto == "jsonl" ? "framed" : "plain"), "the server never read bot")
        let result = try s.tui(["send", "bot", "what is the answer", "--wait-reply", "--timeout", "60"], timeout: 90)
        #expect(result.status == 0, "send: \(result.status) \(result.stderr)")
        #expect(result.stderr.contains("sending through the server (pid \(pid))"), "stderr: \(result.stderr)")
        #expect(result.stdout.contains("what is the answer"), "stdout: \(result.stdout.debugDescription)")
        #expect(result.stderr.contains("best effort") == (proto == "plain"), "stderr: \(result.stderr)")
        let history = try s.tui(["history", "bot", "--json"])
        #expect(history.stdout.contains("\"origin\" : \"cli\""), "history: \(history.stdout)")
    }

    @Test func sendWaitReplyThroughTheServerExitsFiveWhenTheTurnDoesNotEndInTime() throws {
        let s = try ServerScratch()
        let job = s.scratch.file("job.sh")
        try "#!/bin/sh\necho \"working on $1\"\nsleep 30\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try Self.startAgent(s, ["--protocol", "jsonl", "--exec", job])
        defer { agent.signal(SIGKILL) }
        _ = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "framed"), "the server never read bot")
        let result = try s.tui(["send", "bot", "slow one", "--wait-reply", "--timeout", "2"], timeout: 60)
        #expect(result.status == 5, "send: \(result.status) \(result.stderr)")
        #expect(result.stderr.contains("the turn did not end within 2 s"), "stderr: \(result.stderr)")
        #expect(result.stdout.contains("working on slow one"), "stdout: \(result.stdout.debugDescription)")
    }

    @Test func theSameIDSentTwiceFromTheCLIIsDeliveredOnce() throws {
        let s = try ServerScratch()
        // The agent logs every prompt it gets: the count is the agent's, not the history's.
        let got = s.scratch.file("got.log")
        let job = s.scratch.file("job.sh")
        try "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(got)'\necho \"got $1\"\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try Self.startAgent(s, ["--protocol", "plain", "--exec", job])
        defer { agent.signal(SIGKILL) }
        _ = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "plain"), "the server never read bot")
        let first = try s.tui(["send", "bot", "--id", "nightly-42", "run the nightly job"])
        let second = try s.tui(["send", "bot", "--id", "nightly-42", "run the nightly job"])
        #expect(first.status == 0 && second.status == 0, "\(first.stderr) \(second.stderr)")
        #expect(first.stdout.contains("prompt nightly-42") && first.stdout == second.stdout, "\(first.stdout) / \(second.stdout)")
        #expect(try s.tui(["send", "bot", "a later one", "--wait-reply", "--timeout", "60"], timeout: 90).status == 0)
        let prompts = ((try? String(contentsOfFile: got, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(prompts == ["run the nightly job", "a later one"], "the agent got \(prompts)")
        let file = HistoryStore.read(path: s.state + "/cc-bridge-tui/history/bot.jsonl")
        #expect(file.turns.first { $0.prompt == "run the nightly job" }?.id == "nightly-42")
    }

    /// Issue 14, step 4: a script sends prompts with its own ids through the socket, the server is
    /// killed with SIGKILL, and after the restart the script sends them again (it cannot know
    /// what got through). Before: the new server sent them again, the agent ran them twice, and
    /// the history got their input records but no turns (the turn tracker ignores an id it
    /// knows). Now: not sent again; the agent got each once and every input has its turn.
    @Test(arguments: [false, true])
    func idsResentAfterAKillNineAreNotRunTwiceAndEveryInputHasItsTurn(withoutLedger: Bool) throws {
        let s = try ServerScratch()
        let got = s.scratch.file("got.log")
        let job = s.scratch.file("job.sh")
        try "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(got)'\necho \"got $1\"\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        let agent = try Self.startAgent(s, ["--protocol", "plain", "--exec", job])
        defer { agent.signal(SIGKILL) }
        let endpoint = IPCEndpoint(pipeDirectory: s.pipes, environment: s.environment)
        let historyPath = s.state + "/cc-bridge-tui/history/bot.jsonl"
        func send(_ i: Int) -> Bool {
            let params: JSONValue = ["instance": "bot", "text": .string("job \(i)"), "id": .string("job-\(i)"), "origin": "cli"]
            guard case .success = IPCClient.call("send", params: params, endpoint: endpoint, timeout: 30) else { return false }
            return true
        }
        func completed(_ i: Int) -> Bool {
            HistoryStore.read(path: historyPath).turns.contains { $0.id == "job-\(i)" && $0.status == .completed }
        }
        let first = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "plain"), "the server never read bot")
        for i in 1...3 {
            #expect(send(i), "send \(i)")
            #expect(eventually(timeout: 60) { completed(i) }, "job-\(i) never completed")
        }
        kill(first, SIGKILL)
        #expect(eventually(timeout: 10) { !ServerScratch.alive(first) })
        // Without the id ledger (as when the ids are older than it keeps): the history alone
        // must keep them from running twice.
        if withoutLedger { try FileManager.default.removeItem(atPath: s.state + "/cc-bridge-tui/inputs/bot.ids.jsonl") }
        _ = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "plain"), "the new server never read bot")
        for i in 1...3 { #expect(send(i), "send \(i) again") }
        #expect(send(4))
        #expect(eventually(timeout: 60) { completed(4) }, "job-4 never completed")
        let prompts = ((try? String(contentsOfFile: got, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        #expect(prompts == ["job 1", "job 2", "job 3", "job 4"], "the agent got \(prompts)")
        let file = HistoryStore.read(path: historyPath)
        #expect(file.turns.map(\.id) == ["job-1", "job-2", "job-3", "job-4"], "turns: \(file.turns.map(\.id))")
        #expect(file.inputs.count == file.turns.count, "inputs without a turn: \(file.inputs.map(\.text)) vs \(file.turns.map(\.prompt))")
        let history = try s.tui(["history", "bot", "--json"]).stdout
        #expect(history.contains("\"total\" : 4"), "history: \(history)")
    }

    /// Turns that ended before a `kill -9` are in the history after a restart.
    @Test func turnsThatEndedBeforeAKillNineAreInTheHistoryAfterARestart() throws {
        let s = try ServerScratch()
        let agent = try Self.startAgent(s, ["--protocol", "plain", "--echo"])
        defer { agent.signal(SIGKILL) }
        let first = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "plain"), "the server never read bot")
        for i in 1...3 {
            let sent = try s.tui(["send", "bot", "prompt number \(i)", "--wait-reply", "--timeout", "60"], timeout: 90)
            #expect(sent.status == 0, "send \(i): \(sent.stderr)")
        }
        let before = try s.tui(["history", "bot", "--json"]).stdout
        kill(first, SIGKILL)
        #expect(eventually(timeout: 10) { !ServerScratch.alive(first) })
        _ = try s.startServer()
        #expect(try Self.serverReadsBot(s, mode: "plain"), "the new server never read bot")
        let history = try s.tui(["history", "bot", "--json"])
        struct Document: Decodable { var turns: [Turn] }
        let turns = try JSONDecoder().decode(Document.self, from: Data(history.stdout.utf8)).turns
        for i in 1...3 {
            let turn = turns.first { $0.prompt == "prompt number \(i)" }
            #expect(turn?.status == .completed && turn?.response.contains("prompt number \(i)") == true,
                    "turn \(i) after the restart: \(String(describing: turn))\nbefore: \(before)\nafter: \(history.stdout)")
        }
    }
}
