// SessionHubTUITests: what the screen says about a session, end to end (the real binary in tmux,
// real FIFOs, real agents): a queued prompt reaches a stalled reader once; a typed prompt shows
// as `❯ prompt` in the scrollback; an agent killed mid-reply under `cc-bridge-agent supervise` is
// marked, its turn interrupted and the health changes at once; a plain reply after a restart is
// credited to its own prompt; a second reader of one instance is refused, naming the first.

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct SessionHubTUITests {
    static func environment(_ s: TUISession) -> [String: String] {
        ["HOME": s.scratch.path, "XDG_STATE_HOME": s.scratch.file("state"), "XDG_CONFIG_HOME": s.scratch.file("config")]
    }

    /// `cc-bridge-agent supervise -- serve` for `bot` in jsonl: running `job` (a shell script) per
    /// prompt, or echoing when nil. Kept with the session, so it ends with the test.
    /// Takes `<pipes>/bot.lock` the moment the killed agent's lock is free, as a starting agent
    /// would, so the supervisor's restart waits (the new agent exits 75 and is retried with
    /// backoff) until the test has seen the agent down; on a loaded machine the restart otherwise
    /// came back before one tmux capture showed "unhealthy". Close the descriptor to let it start.
    static func holdAgentLock(_ s: TUISession) -> Int32 {
        let fd = open(s.pipes + "/bot.lock", O_RDWR | O_CREAT, 0o600)
        let deadline = Date().addingTimeInterval(5)
        while fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && Date() < deadline { usleep(1000) }
        return fd
    }

    static func supervise(_ s: TUISession, job: String?, script: String? = nil) throws -> Running {
        var serve = ["serve", "--name", "bot", "--pipe-dir", s.pipes, "--protocol", "jsonl"]
        if let script {
            serve += ["--script", script]
        } else if let job {
            let path = s.scratch.file("job.sh")
            try job.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
            serve += ["--exec", path]
        } else {
            serve.append("--echo")
        }
        let supervisor = try Running(try Binaries.agent, ["supervise", "--"] + serve)
        s.agents.append(supervisor)
        return supervisor
    }

    /// The old outbox path wrote the prompt again at every retry (each after blocking ~1.5 s)
    /// against an agent that holds the in-FIFO open and does not read.
    @Test func queuedPromptReachesAReaderThatDoesNotReadExactlyOnce() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("deliver me once", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("q1"), "screen:\n\(s.tmux.dump)")
        let holder = open(s.pipes + "/bot.in.fifo", O_RDONLY | O_NONBLOCK)
        #expect(holder >= 0)
        defer { close(holder) }
        #expect(try s.tmux.waitFor("delivered 1 queued prompt to bot"), "screen:\n\(s.tmux.dump)")
        // Several retry periods: nothing more may arrive.
        usleep(4_000_000)
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = read(holder, &buffer, buffer.count)
        let text = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
        #expect(text == "deliver me once\n", "the in-FIFO held \(text.debugDescription)")
        #expect(try s.tmux.screen().contains("❯ deliver me once"), "screen:\n\(s.tmux.dump)")
    }

    /// A live session shows your prompt as restored history does: a `❯ prompt` line, then the reply.
    @Test func typedPromptAppearsInTheScrollbackBeforeItsReply() throws {
        let s = try TUISession(instances: ["bot"], agentOn: ["bot"])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("hello prompt line", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: hello prompt line"), "screen:\n\(s.tmux.dump)")
        let lines = try s.tmux.capture()
        let prompt = lines.firstIndex { $0.contains("│❯ hello prompt line") }
        let reply = lines.firstIndex { $0.contains("echo: hello prompt line") }
        #expect(prompt != nil && reply != nil && prompt! < reply!, "screen:\n\(lines.joined(separator: "\n"))")
        // The agent now waits behind its bare `❯ ` line: the next prompt takes that line's place
        // and the reply starts its own (it read `❯ echo: second`, like something you typed).
        try s.tmux.send("second", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: second"), "screen:\n\(s.tmux.dump)")
        let after = try s.tmux.capture()
        #expect(after.contains { $0.contains("│❯ second") }, "screen:\n\(after.joined(separator: "\n"))")
        #expect(after.contains { $0.contains("│echo: second") }, "screen:\n\(after.joined(separator: "\n"))")
        #expect(!after.contains { $0.contains("❯ echo:") }, "screen:\n\(after.joined(separator: "\n"))")
    }

    /// `cc-bridge-agent supervise` restarts an agent killed with SIGKILL mid-reply: the scrollback
    /// says so, the turn is interrupted at once (not timed out minutes later), the title turns
    /// unhealthy at once and healthy again when the agent is back.
    @Test func agentKilledMidReplyUnderSuperviseIsMarkedAndRecovers() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        let supervisor = try Self.supervise(s, job: "#!/bin/sh\necho \"working on $1\"\nsleep 20\n")
        // Healthy as soon as the agent is seen, not at the next scheduled check.
        #expect(try s.tmux.waitFor("● healthy", timeout: 10), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Tab")
        try s.tmux.send("long job", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("working on long job"), "screen:\n\(s.tmux.dump)")
        let agent = descendants(of: supervisor.process.processIdentifier).first
        #expect(agent != nil)
        if let agent { kill(agent, SIGKILL) }
        let held = Self.holdAgentLock(s)
        #expect(try s.tmux.waitFor("── agent exited · turn 1 interrupted ──", timeout: 10), "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("unhealthy", timeout: 5), "screen:\n\(s.tmux.dump)")
        close(held)
        // Each start refused while the lock was held doubled the supervisor's delay (1, 2, 4, 8 s,
        // at most 30 s): on a loaded machine the lock can be held long enough for an 8 or 16 s wait.
        #expect(try s.tmux.waitFor("── agent back (restarted) ──", timeout: 40), "screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 10) { try !s.tmux.capture()[0].contains("unhealthy") && s.tmux.capture()[0].contains("healthy") },
                "screen:\n\(s.tmux.dump)")
        // The interrupted turn is listed as such in the turn history.
        try s.tmux.send("Escape")
        #expect(try s.tmux.waitFor("> i to type a prompt"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("T")
        #expect(try s.tmux.waitFor("interrupted"), "screen:\n\(s.tmux.dump)")
    }

    /// An agent killed while idle (no turn open) under `cc-bridge-agent supervise`: the list glyph
    /// and the title turn unhealthy within a couple of probes (the old path: `● healthy` ~24 s,
    /// then only `◐ degraded` while dead) and healthy again as soon as the restarted agent is
    /// seen (the old path: another ~28 s), both well inside the default check interval.
    @Test func idleAgentKilledUnderSuperviseTurnsUnhealthyAndBackAtOnce() throws {
        let s = try TUISession(instances: ["bot", "other"], agentOn: [])
        let supervisor = try Self.supervise(s, job: nil)
        /// Bot's list row (selected: `▌` in front of the glyph).
        func listRow(_ glyph: String) throws -> Bool { try s.tmux.capture().contains { $0.dropFirst().hasPrefix("\(glyph) bot ") && $0.contains("│") } }
        #expect(try s.tmux.waitFor("● healthy", timeout: 10), "screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 10) { try listRow("●") }, "screen:\n\(s.tmux.dump)")
        let agent = descendants(of: supervisor.process.processIdentifier).first
        #expect(agent != nil)
        if let agent { kill(agent, SIGKILL) }
        let held = Self.holdAgentLock(s)
        #expect(try eventually(timeout: 5) { try listRow("✖") && s.tmux.capture()[0].contains("unhealthy") }, "screen:\n\(s.tmux.dump)")
        #expect(try s.tmux.waitFor("── agent exited", timeout: 1), "screen:\n\(s.tmux.dump)")
        close(held)
        #expect(try s.tmux.waitFor("── agent back (restarted) ──", timeout: 10), "screen:\n\(s.tmux.dump)")
        #expect(try eventually(timeout: 5) { try listRow("●") && !s.tmux.capture()[0].contains("unhealthy") && s.tmux.capture()[0].contains("healthy") },
                "screen:\n\(s.tmux.dump)")
    }

    /// The demo's crashy agent showed it: killed mid-word, its fragment stayed the open line, the
    /// exit and comeback markers went above it and the next reply was glued onto it
    /// (`I am about to craReply one to: fourth`). Now the fragment ends where it stopped, the
    /// markers follow it, and the next reply has a line of its own.
    @Test func agentKilledMidWordKeepsItsFragmentAboveTheMarkersAndTheNextReplyApart() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        let supervisor = try Self.supervise(
            s, job: "#!/bin/sh\nif [ \"$1\" = long ]; then printf 'I am about to cr'; sleep 20; fi\necho \"Reply to: $1\"\n")
        #expect(try s.tmux.waitFor("● healthy", timeout: 10), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Tab")
        try s.tmux.send("long", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("I am about to cr"), "screen:\n\(s.tmux.dump)")
        let agent = descendants(of: supervisor.process.processIdentifier).first
        #expect(agent != nil)
        if let agent { kill(agent, SIGKILL) }
        #expect(try s.tmux.waitFor("── agent back (restarted) ──", timeout: 15), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("fourth", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("Reply to: fourth"), "screen:\n\(s.tmux.dump)")
        let lines = try s.tmux.capture()
        func row(_ text: String) -> Int? { lines.firstIndex { $0.contains("│" + text) } }
        let order = ["❯ long", "I am about to cr", "── agent exited · turn 1 interrupted ──", "── agent back (restarted) ──",
                     "❯ fourth", "Reply to: fourth"].map(row)
        #expect(order.allSatisfy { $0 != nil } && order.compactMap { $0 } == order.compactMap { $0 }.sorted(),
                "screen:\n\(lines.joined(separator: "\n"))")
        #expect(!lines.contains { $0.contains("crReply") }, "screen:\n\(lines.joined(separator: "\n"))")
        // One exit, one comeback: the new agent's hello (another pid) is that comeback, not a
        // second restart (the pane had "agent exited" / "agent back" twice).
        #expect(lines.filter { $0.contains("── agent exited") }.count == 1, "screen:\n\(lines.joined(separator: "\n"))")
        #expect(lines.filter { $0.contains("── agent back") }.count == 1, "screen:\n\(lines.joined(separator: "\n"))")
    }

    /// The demo's crashy agent (it exits with status 3 in its third reply; the supervisor starts
    /// another a second later) showed "agent exited" / "agent back" twice for one crash: a probe
    /// saw the new agent first, then its hello from a new pid was taken for a second restart.
    @Test func aScriptedCrashUnderSuperviseIsOneExitAndOneComeback() throws {
        // As in the demo, the agent makes its own FIFOs (and takes them away when it exits).
        let s = try TUISession(instances: [], agentOn: [])
        _ = try Self.supervise(s, job: nil, script: "crashy")
        #expect(try s.tmux.waitFor("● healthy", timeout: 10), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("Tab")
        for (prompt, reply) in [("one", "Reply one to: one"), ("two", "Reply two."), ("three", "I am about to crash")] {
            try s.tmux.send(prompt, literal: true)
            try s.tmux.send("Enter")
            #expect(try s.tmux.waitFor(reply), "screen:\n\(s.tmux.dump)")
        }
        #expect(try s.tmux.waitFor("── agent back (restarted) ──", timeout: 20), "screen:\n\(s.tmux.dump)")
        // The new agent's hello comes moments after it opens the in-FIFO: give it time to arrive.
        try s.tmux.send("one again", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("Reply one to: one again"), "screen:\n\(s.tmux.dump)")
        let lines = try s.tmux.capture()
        #expect(lines.filter { $0.contains("── agent exited") }.count == 1, "screen:\n\(lines.joined(separator: "\n"))")
        #expect(lines.filter { $0.contains("── agent back") }.count == 1, "screen:\n\(lines.joined(separator: "\n"))")
    }

    /// Plain protocol: the agent swallows a prompt and dies; restarted a second later, it answers
    /// the next one. The history credits that answer to the next prompt, never to the swallowed.
    @Test func plainReplyAfterARestartBelongsToItsOwnPrompt() throws {
        let s = try TUISession(instances: ["bot"], agentOn: [])
        let agent = """
        import os, sys, signal
        d, name = sys.argv[1], sys.argv[2]
        inp, out = f"{d}/{name}.in.fifo", f"{d}/{name}.out.fifo"
        while True:
            with open(inp, "rb") as f:
                for raw in f:
                    line = raw.strip()
                    if not line: continue
                    if line == b"swallow": os.kill(os.getpid(), signal.SIGKILL)
                    for chunk in (b"echo: " + line + b"\\n", "\\u276f ".encode()):
                        fd = os.open(out, os.O_WRONLY)
                        os.write(fd, chunk)
                        os.close(fd)
        """
        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", agent, s.pipes, "bot"]))
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        try s.tmux.send("Tab")
        try s.tmux.send("warm up", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: warm up"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("swallow", literal: true)
        try s.tmux.send("Enter")
        #expect(try eventually { s.agents[0].wait(timeout: 0) != nil }, "the agent took the prompt and died")
        usleep(1_500_000)   // a supervisor's restart delay
        s.agents.append(try Running("/usr/bin/env", ["python3", "-c", agent, s.pipes, "bot"]))
        try s.tmux.send("second", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: second"), "screen:\n\(s.tmux.dump)")
        usleep(500_000)
        // (Wait until Esc has left the prompt: Esc and q read together would be Alt-q.)
        try s.tmux.send("Escape")
        #expect(try s.tmux.waitFor("> i to type a prompt"), "screen:\n\(s.tmux.dump)")
        try s.tmux.send("q")
        #expect(try s.tmux.waitFor("EXITED 0"), "screen:\n\(s.tmux.dump)")
        let history = try run(try Binaries.tui, ["history", "bot", "--json"], environment: Self.environment(s))
        let document = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [String: Any]
        let turns = (document?["turns"] as? [[String: Any]]) ?? []
        let swallowed = turns.first { $0["prompt"] as? String == "swallow" }
        let second = turns.first { $0["prompt"] as? String == "second" }
        #expect(swallowed?["status"] as? String == "interrupted", "history: \(history.stdout)")
        #expect((swallowed?["response"] as? String)?.contains("echo: second") == false, "history: \(history.stdout)")
        #expect(second?["status"] as? String == "completed", "history: \(history.stdout)")
        #expect((second?["response"] as? String)?.contains("echo: second") == true, "history: \(history.stdout)")
    }

    /// Two readers of one out-FIFO would split its stream: `attach` next to a running TUI is
    /// refused and names the TUI's pid; the first TUI keeps the output.
    @Test func secondReaderIsRefusedNamingTheFirst() throws {
        let s = try TUISession(instances: ["bot"], agentOn: ["bot"])
        #expect(try s.tmux.waitFor("─ prompt → bot"))
        let first = try SessionTUITests.tuiPID(s.tmux)
        let scratch = Scratch()
        let second = try Tmux(size: (100, 10),
                              command: ["sh", "-c", "\"$@\"; echo \"EXITED $?\"; sleep 60", "sh", try Binaries.tui,
                                        "attach", "bot", "--pipe-dir", s.pipes],
                              environment: Self.environment(s).merging(["TERM": "tmux-256color"]) { $1 },
                              scratch: scratch)
        #expect(try second.waitFor("EXITED 1"), "screen:\n\(second.dump)")
        let screen = try second.screen().replacingOccurrences(of: "\n", with: "")
        #expect(screen.contains("already read by process \(first)"), "screen:\n\(second.dump)")
        // `tail` is a reader too: refused the same way, and it does not take lines away.
        let tail = try run(try Binaries.tui, ["tail", "bot", "--follow", "--pipe-dir", s.pipes],
                           timeout: 10, environment: Self.environment(s))
        #expect(tail.status == 1, "tail: \(tail.stderr)")
        #expect(tail.stderr.contains("already read by process \(first)"), "tail: \(tail.stderr)")
        // The first one still gets everything.
        try s.tmux.send("Tab")
        try s.tmux.send("still mine", literal: true)
        try s.tmux.send("Enter")
        #expect(try s.tmux.waitFor("echo: still mine"), "screen:\n\(s.tmux.dump)")
        withExtendedLifetime(scratch) {}
    }
}
